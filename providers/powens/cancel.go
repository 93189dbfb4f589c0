package powens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/apicall"
)

// Cancel asks Powens to cancel the payment: POST /payments/{id} {"cancel":true,
// "client_redirect_uri":req.ReturnURL,"client_state":req.State}. Powens answers in one of
// three documented ways, which the guide shows as partial objects
// (docs/providers.md#powens-cancellation), so the outcome is read from id, state,
// state_detail, error_code and code alone:
//
//   - rejected + cancelledByUser: cancelled at once (Done);
//   - pending + cancelling_webauth: the payer must confirm (NeedsPayer, with a webview
//     link built from a fresh scoped token and the request's state and return URL), or
//     pending + cancelling: the payer confirms at the bank (validate_uri);
//   - code notSupported, whatever the HTTP status: the connector cannot (NotSupported).
//
// When the answer is not the whole payment, the payment is read once with GET
// /payments/{id} for the Snapshot; if that read fails the outcome stands, without a
// Snapshot. Any other 4xx is Refused; a timeout, a 5xx or an unreadable answer is
// Unknown. The cancel call is never repeated, except after a 401, which means it was
// refused before anything happened.
func (c *Client) Cancel(ctx context.Context, ref providers.Ref, req providers.CancelRequest) providers.Outcome {
	id := ref.PaymentID
	if id == "" {
		return providers.Outcome{Kind: providers.Refused,
			Message: "Paydesk has no Powens payment id for this payment; nothing was sent.",
			Detail:  "cancel: empty payment id"}
	}
	op := "POST /payments/" + id
	body := cancelRequest{Cancel: true, ClientRedirectURI: req.ReturnURL, ClientState: req.State}
	rep, notSent, err := c.api(ctx, op, http.MethodPost, c.url("/payments/"+url.PathEscape(id)), body)
	if err != nil {
		return failed("cancellation", rep, notSent, err)
	}
	return c.cancelOutcome(ctx, op, id, rep, req)
}

// cancelOutcome reads a 2xx answer to the cancellation of payment id.
func (c *Client) cancelOutcome(ctx context.Context, op, id string, rep apicall.Answer, req providers.CancelRequest) providers.Outcome {
	out := providers.Outcome{Raw: apicall.RawJSON(rep.Body)}
	var ans cancelAnswer
	err := apicall.DecodeJSON(rep, &ans)
	if err == nil && ans.Code == notSupportedCode {
		// The guide gives this body no status: a 2xx carrying it means the same as a 4xx.
		out.Kind = providers.NotSupported
		out.Message = notSupportedMessage(ans.Description, ans.Message)
		out.Detail = fmt.Sprintf("%s: HTTP %d: %s", op, rep.Status, apicall.Excerpt(rep.Body))
		return out
	}
	if err == nil {
		err = ans.check(id)
	}
	if err != nil {
		out.Kind = providers.Unknown
		out.Message = "Powens answered the cancellation with something Paydesk could not read; the outcome is unknown until the payment is read again."
		out.Detail = fmt.Sprintf("%s: HTTP %d: %v: %s", op, rep.Status, err, apicall.Excerpt(rep.Body))
		return out
	}
	st := ans.state()
	switch {
	case st.cancelled():
		out.Kind = providers.Done
		out.Message = "Powens cancelled the payment."
	case st.waitsForPayer():
		out.Kind = providers.NeedsPayer
	default:
		out.Kind = providers.Unknown
		out.Message = fmt.Sprintf("Powens answered the cancellation with state %s; Paydesk cannot tell whether it took effect.", st)
		out.Detail = fmt.Sprintf("%s: HTTP %d: %s", op, rep.Status, apicall.Excerpt(rep.Body))
		return out
	}

	// The outcome is known; the payment page also wants the payment as it now is.
	if s, err := decodePayment(rep.Body); err == nil {
		out.Snapshot = &s
	} else if s, err := c.payment(ctx, id); err == nil {
		out.Snapshot = &s
	} else {
		// The cancel answer said what happened: a failed read changes nothing about it.
		out.Detail = "read back after the cancellation failed: " + err.Error()
	}
	if out.Kind == providers.Done {
		return out
	}

	if st.ValidateURI == "" && out.Snapshot != nil && stateOf(*out.Snapshot).waitsForPayer() {
		// The bank's link may be only in the whole payment.
		st.ValidateURI = out.Snapshot.ValidateURI
	}
	link, err := c.payerLink(ctx, id, st, req)
	if err != nil {
		// The cancellation is asked for and waits for the payer either way; only the
		// link is missing, and PayerLink can make one later.
		out.Message = "Powens asks the payer to confirm the cancellation, but the payer link could not be made: " +
			providers.SafeMessage(err) + " Make a new payer link."
		out.Detail = strings.TrimPrefix(out.Detail+"; "+err.Error(), "; ")
		return out
	}
	out.Link = &link
	out.Message = "Powens asks the payer to confirm the cancellation; send them the payer link."
	return out
}

// notSupportedMessage is Powens' words for notSupported, or a plain sentence.
func notSupportedMessage(description, message string) string {
	switch {
	case strings.TrimSpace(description) != "":
		return strings.TrimSpace(description)
	case strings.TrimSpace(message) != "":
		return strings.TrimSpace(message)
	}
	return "Powens cannot cancel this payment at the payer's bank (notSupported)."
}

// PayerLink makes a fresh link for a payment whose cancellation waits for the payer: it
// re-reads the payment, then asks for a new scoped token — every call makes a new one —
// and builds the webview URL with req's state and return URL (pending +
// cancelling_webauth), or hands back the bank's validate_uri (pending + cancelling). The
// guide wants the webview's state and redirect_uri to be those of the cancel request, so
// the caller passes the cancellation's own req. Any other state is an error wrapping
// ErrNotWaitingForPayer.
func (c *Client) PayerLink(ctx context.Context, ref providers.Ref, req providers.CancelRequest) (providers.PayerLink, error) {
	s, err := c.Fetch(ctx, ref)
	if err != nil {
		return providers.PayerLink{}, err
	}
	return c.payerLink(ctx, s.PaymentID, stateOf(s), req)
}

// payerLink builds the payer's link for payment id in a cancelling state.
func (c *Client) payerLink(ctx context.Context, id string, st paymentState, req providers.CancelRequest) (providers.PayerLink, error) {
	switch {
	case st.State == "pending" && st.Detail == "cancelling_webauth":
		token, expiresIn, err := c.scopedToken(ctx, id)
		if err != nil {
			return providers.PayerLink{}, err
		}
		return providers.PayerLink{
			URL:       c.webviewLink(id, token, req),
			ExpiresAt: c.now().Add(expiresIn),
			Kind:      "webview",
		}, nil
	case st.State == "pending" && st.Detail == "cancelling" && st.ValidateURI != "":
		return providers.PayerLink{URL: st.ValidateURI, ExpiresAt: c.now().Add(ValidateURILifetime), Kind: "validate_uri"}, nil
	case st.State == "pending" && st.Detail == "cancelling":
		return providers.PayerLink{}, &providers.Error{Provider: Name,
			Safe:   "Powens says the payer must confirm at their bank but gave no link (validate_uri) for it.",
			Detail: "payment " + id + ": cancelling without validate_uri"}
	}
	return providers.PayerLink{}, &providers.Error{Provider: Name,
		Safe:   fmt.Sprintf("The payment no longer waits for the payer to confirm a cancellation (Powens state %s).", st),
		Detail: "payment " + id,
		Err:    ErrNotWaitingForPayer}
}

// scopedToken is POST /payments/{id}/scopedtoken {"scope":["payments:validate"]}.
func (c *Client) scopedToken(ctx context.Context, id string) (string, time.Duration, error) {
	op := "POST /payments/" + id + "/scopedtoken"
	rep, _, err := c.api(ctx, op, http.MethodPost, c.url("/payments/"+url.PathEscape(id)+"/scopedtoken"),
		scopedTokenRequest{Scope: []string{validateScope}})
	if err != nil {
		return "", 0, err
	}
	var ans scopedTokenAnswer
	if err := apicall.DecodeJSON(rep, &ans); err != nil {
		// The body holds a token: never put it in the detail.
		return "", 0, unreadableSecret(op, rep, fmt.Errorf("powens: scoped token: %w", err))
	}
	if ans.Token == "" {
		return "", 0, unreadableSecret(op, rep, errors.New("powens: scoped token answer has no token"))
	}
	if ans.IDPayment != "" && string(ans.IDPayment) != id {
		return "", 0, unreadableSecret(op, rep, fmt.Errorf("powens: scoped token is for payment %s, not %s", ans.IDPayment, id))
	}
	life := time.Duration(ans.ExpiresIn) * time.Second
	if ans.ExpiresIn <= 0 {
		life = scopedTokenLifetime
	}
	return ans.Token, life, nil
}

// webviewLink builds {webview}/payment?client_id&redirect_uri&state&code&payment_id:
// redirect_uri and state are the cancel request's, as the guide asks.
func (c *Client) webviewLink(id, token string, req providers.CancelRequest) string {
	params := [][2]string{
		{"client_id", c.clientID},
		{"redirect_uri", req.ReturnURL},
		{"state", req.State},
		{"code", token},
		{"payment_id", id},
	}
	var b strings.Builder
	b.WriteString(c.webviewURL)
	b.WriteString("/payment?")
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[1]))
	}
	return b.String()
}

// paymentState is the part of a payment that says where a cancellation stands.
type paymentState struct {
	State, Detail, ErrorCode, ValidateURI string
}

// stateOf is a Snapshot's paymentState.
func stateOf(s providers.Snapshot) paymentState {
	return paymentState{State: s.RawStatus, Detail: s.StateDetail, ErrorCode: s.ErrorCode, ValidateURI: s.ValidateURI}
}

// cancelled: Powens cancelled the payment.
func (p paymentState) cancelled() bool {
	return p.State == "rejected" && p.ErrorCode == "cancelledByUser"
}

// waitsForPayer: a cancellation waits for the payer, in the webview or at the bank.
func (p paymentState) waitsForPayer() bool {
	return p.State == "pending" && (p.Detail == "cancelling_webauth" || p.Detail == "cancelling")
}

// String renders the state with its detail or error code: "pending (cancelling)".
func (p paymentState) String() string {
	st := p.State
	if p.Detail != "" {
		st += " (" + p.Detail + ")"
	}
	if p.ErrorCode != "" {
		st += " (" + p.ErrorCode + ")"
	}
	return st
}
