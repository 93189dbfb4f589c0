package web

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	"paydesk/ops"
	"paydesk/providers"
)

// webhookHandler receives one provider's webhooks at /webhooks/{provider} (its default
// account's) and /webhooks/{provider}/{account} (each account's, verified with that
// account's secret): it reads the
// body (capped by the middleware), keeps the headers worth keeping and hands them to the
// Desk with the source address, which verifies, decodes, applies and records the webhook
// (ops/webhooks.go) and limits the refusals per source (ops/webhook_limit.go). The answer
// is plain text: the verdict, under the status the provider acts on.
func (s *Server) webhookHandler(provider providers.Name) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		source := s.desk.WebhookSource(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
		account := r.PathValue("account")
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				if res := s.desk.WebhookTooLarge(r.Context(), provider, source); res.Kind == ops.WebhookLimited {
					webhookLimited(w, res)
					return
				}
				s.log.Warn("webhook refused", "request_id", requestID(r.Context()), "provider", provider, "source", source, "err", err)
				webhookReply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook body larger than %d bytes: refused, nothing stored", tooBig.Limit))
				return
			}
			s.log.Warn("webhook unreadable", "request_id", requestID(r.Context()), "provider", provider, "err", err)
			webhookReply(w, http.StatusBadRequest, "webhook body could not be read: nothing stored")
			return
		}
		header := keptHeader(r.Header, append([]string{"Content-Type", "User-Agent"}, s.desk.AccountWebhookHeaders(provider, account)...))
		res := s.desk.ReceiveAccountWebhookFrom(r.Context(), provider, account, source, header, body)
		if res.Kind == ops.WebhookLimited {
			// Not logged one by one: the Desk logs a summary per source and minute.
			webhookLimited(w, res)
			return
		}
		status := webhookStatus[res.Kind]
		if res.Kind == ops.WebhookNotRecorded {
			s.log.Error("record webhook", "request_id", requestID(r.Context()), "provider", provider, "detail", res.Detail)
			webhookReply(w, status, "webhook could not be recorded; send it again")
			return
		}
		s.log.Info("webhook", "request_id", requestID(r.Context()), "provider", provider, "account", account, "type", res.Type, "ref", res.Ref,
			"payment", res.Payment, "verdict", res.Verdict, "status", status, "detail", res.Detail, "source", source)
		webhookReply(w, status, res.Verdict)
	}
}

// webhookStatus is the HTTP status of each kind of verdict: 200 tells the provider the
// webhook is taken, 401 and 400 that sending it again will not help, 503 and 500 that it
// should send it again later.
var webhookStatus = map[ops.WebhookKind]int{
	ops.WebhookTaken:         http.StatusOK,
	ops.WebhookBadSignature:  http.StatusUnauthorized,
	ops.WebhookNotConfigured: http.StatusServiceUnavailable,
	ops.WebhookMalformed:     http.StatusBadRequest,
	ops.WebhookRetry:         http.StatusServiceUnavailable,
	ops.WebhookNotRecorded:   http.StatusInternalServerError,
	ops.WebhookLimited:       http.StatusTooManyRequests,
	ops.WebhookTooLarge:      http.StatusRequestEntityTooLarge,
}

// webhookLimited answers a refusal turned away: 429, with when to try again.
func webhookLimited(w http.ResponseWriter, res ops.WebhookResult) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(res.RetryAfter.Seconds()))))
	webhookReply(w, http.StatusTooManyRequests, "too many refused webhooks from this address: refused, nothing stored; try again later")
}

// keptHeader is the part of a request's headers a webhook is verified and kept with.
func keptHeader(h http.Header, names []string) http.Header {
	kept := http.Header{}
	for _, n := range names {
		if v := h.Values(n); len(v) > 0 {
			kept[http.CanonicalHeaderKey(n)] = v
		}
	}
	return kept
}

// webhookReply answers a webhook in plain text.
func webhookReply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}
