package web

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"paydesk/providers"
	"paydesk/storage"
)

// webhookPowens receives Powens' PAYMENT_UPDATED webhooks. Their signing scheme is not
// published, so a webhook is only a hint (providers.md §1): Paydesk takes the payment id
// from it and reads the payment from Powens before changing anything. When a secret is
// configured the body must carry its HMAC-SHA256 in the configured header. A payment
// Powens has and Paydesk does not is created, as Powens describes it.
func (s *Server) webhookPowens(w http.ResponseWriter, r *http.Request) {
	s.receiveWebhook(w, r, webhookSource{
		provider: providers.Powens,
		headers:  []string{s.cfg.Webhooks.PowensHeader},
		verify:   s.verifyPowens,
		decode:   s.decodePowens,
	})
}

// verifyPowens checks the HMAC when a secret is configured.
func (s *Server) verifyPowens(r *http.Request, body []byte) error {
	if s.provider(providers.Powens) == nil {
		return fmt.Errorf("%w: Powens is not configured in this Paydesk", errNotConfigured)
	}
	cfg := s.cfg.Webhooks
	if len(cfg.PowensSecret) == 0 {
		return nil
	}
	sig := r.Header.Get(cfg.PowensHeader)
	if sig == "" {
		return fmt.Errorf("%w: no %s header", errBadSignature, cfg.PowensHeader)
	}
	if !verifyHMAC(sha256.New, cfg.PowensSecret, body, sig) {
		return fmt.Errorf("%w: %s is not the HMAC-SHA256 of the body", errBadSignature, cfg.PowensHeader)
	}
	return nil
}

// powensHintID finds the payment id in a Powens webhook: the payment itself ({"id"}),
// wrapped ({"payment":{"id"}} or {"data":{"id"}}), or {"id_payment"}. Ids may be numbers.
func powensHintID(body []byte) (id, typ string, err error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", "", fmt.Errorf("%w: not a JSON object: %v", errMalformed, err)
	}
	typ = "PAYMENT_UPDATED"
	for _, k := range []string{"type", "event"} {
		if t := idOf(fields[k]); t != "" && len(t) <= 100 {
			typ = t
			break
		}
	}
	for _, wrap := range []string{"payment", "data"} {
		var inner map[string]json.RawMessage
		if json.Unmarshal(fields[wrap], &inner) == nil {
			if id := idOf(inner["id"]); id != "" {
				return id, typ, validHintID(id)
			}
		}
	}
	for _, k := range []string{"id_payment", "id"} {
		if id := idOf(fields[k]); id != "" {
			return id, typ, validHintID(id)
		}
	}
	return "", typ, fmt.Errorf("%w: no payment id (id, id_payment or payment.id)", errMalformed)
}

// validHintID refuses ids that cannot be Powens' (they go into a URL path).
func validHintID(id string) error {
	if len(id) > 64 {
		return fmt.Errorf("%w: payment id longer than 64 characters", errMalformed)
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return fmt.Errorf("%w: payment id %q has characters Powens ids do not", errMalformed, id)
		}
	}
	return nil
}

// decodePowens reads the hint; the payment itself comes from Powens.
func (s *Server) decodePowens(_ *http.Request, body []byte) (webhookEvent, error) {
	id, typ, err := powensHintID(body)
	if err != nil {
		return webhookEvent{}, err
	}
	ev := webhookEvent{Type: typ, Key: bodyKey(body), Ref: id,
		Find: func(ctx context.Context) (storage.Payment, error) {
			return s.db.PaymentByProviderID(ctx, providers.Powens, id)
		},
	}
	ev.Snapshot = func(ctx context.Context, _ *storage.Payment) (providers.Snapshot, error) {
		prov := s.provider(providers.Powens)
		snap, err := prov.Fetch(ctx, providers.Ref{PaymentID: id})
		switch {
		case errors.Is(err, providers.ErrNotFound):
			return snap, fmt.Errorf("%w: Powens does not know payment %s", errUnknownPayment, id)
		case err != nil:
			return snap, fmt.Errorf("%w: %s", errProviderUnavailable, providers.SafeMessage(err))
		}
		return snap, nil
	}
	return ev, nil
}
