package powens

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"

	"paydesk/providers"
	"paydesk/providers/simshape"
)

// The payer-facing pages of the simulator: Powens' webview (reached with a scoped token,
// for pending + cancelling_webauth) and a stand-in for the payer's bank (the validate_uri
// of pending + cancelling). Each shows the payment and two buttons, "Confirm cancellation"
// and "Abandon", as plain forms: no JavaScript. The buttons carry data-testid
// "confirm-cancellation" and "abandon-cancellation" for browser tests.

// pageTemplate renders both the confirmation page and the message pages.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
</head>
<body data-testid="{{.TestID}}">
<main>
<p>{{.Brand}}</p>
<h1 data-testid="page-heading">{{.Heading}}</h1>
{{range .Lines}}<p>{{.}}</p>
{{end}}{{if .Action}}<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" name="decision" value="confirm" data-testid="confirm-cancellation">Confirm cancellation</button>
</form>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" name="decision" value="abandon" data-testid="abandon-cancellation">Abandon</button>
</form>
{{end}}{{if .ReturnURL}}<p><a href="{{.ReturnURL}}" data-testid="return-to-merchant">Return to the merchant</a></p>
{{end}}</main>
</body>
</html>
`))

// page is what pageTemplate shows.
type page struct {
	Title     string
	Brand     string
	TestID    string
	Heading   string
	Lines     []string
	Action    string // form action, relative to the page; empty: no buttons
	Hidden    []hiddenField
	ReturnURL string
}

// hiddenField is one hidden input of the confirmation forms.
type hiddenField struct{ Name, Value string }

// handleWebview is Powens' webview, GET and POST /auth/webview[/{lang}]/payment with
// client_id, redirect_uri, state, code (the scoped token) and payment_id.
func (s *Simulator) handleWebview(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.message(w, http.StatusBadRequest, "powens-webview", "This link is broken.", "The request could not be read.")
		return
	}
	clientID, redirect := r.Form.Get("client_id"), r.Form.Get("redirect_uri")
	state, code, id := r.Form.Get("state"), r.Form.Get("code"), r.Form.Get("payment_id")
	if clientID != s.cfg.ClientID || s.cfg.ClientID == "" {
		s.message(w, http.StatusBadRequest, "powens-webview", "This link is broken.", "Unknown client_id.")
		return
	}
	if !absoluteHTTP(redirect) {
		s.message(w, http.StatusBadRequest, "powens-webview", "This link is broken.", "redirect_uri must be an absolute http(s) URL.")
		return
	}
	c, ok := s.verify(code)
	if !ok || c.Scope != validateScope || c.Payment != id || id == "" {
		s.message(w, http.StatusForbidden, "powens-webview", "This link is invalid or has expired.", "Ask the merchant for a new link.")
		return
	}
	s.mu.Lock()
	p, ok := s.payments[id]
	if !ok {
		s.mu.Unlock()
		s.message(w, http.StatusNotFound, "powens-webview", "Payment not found.", "")
		return
	}
	waiting := p.State == "pending" && p.StateDetail == "cancelling_webauth"
	current := *p
	// The payer goes back with the link's redirect_uri and state, which the guide says
	// are those configured on the payment; as documented, to the payment's own.
	backTo, backState := redirect, state
	if s.cfg.Shapes == simshape.Documented && current.ClientRedirectURI != "" {
		backTo, backState = current.ClientRedirectURI, current.ClientState
	}
	back := func(params ...string) string {
		return withQuery(backTo, append([]string{"state", backState, "id_payment", id}, params...)...)
	}
	if r.Method != http.MethodPost || !waiting {
		s.mu.Unlock()
		if !waiting {
			s.nothingToConfirm(w, "powens-webview", &current, back("payment_state", current.State))
			return
		}
		s.confirmPage(w, "powens-webview", "Powens", &current, "./payment", []hiddenField{
			{"client_id", clientID}, {"redirect_uri", redirect}, {"state", state}, {"code", code}, {"payment_id", id},
		})
		return
	}
	switch r.PostForm.Get("decision") {
	case "confirm":
		cancelled(p)
		env, _ := s.envelopeLocked(p)
		s.mu.Unlock()
		s.changed(env)
		http.Redirect(w, r, back("error_code", "cancelledByUser", "payment_state", "rejected"), http.StatusSeeOther)
	case "abandon":
		s.mu.Unlock()
		http.Redirect(w, r, back("error", "cancelled"), http.StatusSeeOther)
	default:
		s.mu.Unlock()
		s.message(w, http.StatusBadRequest, "powens-webview", "Choose to confirm or abandon the cancellation.", "")
	}
}

// handleBank is the simulated bank page behind validate_uri, GET and POST
// /bank/validate/{id}. It sends the payer back to the client_redirect_uri and client_state
// the cancellation was asked with; without one it shows a closing message.
func (s *Simulator) handleBank(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		s.message(w, http.StatusBadRequest, "bank-validate", "This link is broken.", "The request could not be read.")
		return
	}
	s.mu.Lock()
	p, ok := s.payments[id]
	if !ok {
		s.mu.Unlock()
		s.message(w, http.StatusNotFound, "bank-validate", "Payment not found.", "")
		return
	}
	waiting := p.State == "pending" && p.StateDetail == "cancelling"
	current := *p
	back := func(params ...string) string {
		if current.ClientRedirectURI == "" {
			return ""
		}
		return withQuery(current.ClientRedirectURI, append([]string{"state", current.ClientState, "id_payment", id}, params...)...)
	}
	if r.Method != http.MethodPost || !waiting {
		s.mu.Unlock()
		if !waiting {
			s.nothingToConfirm(w, "bank-validate", &current, back("payment_state", current.State))
			return
		}
		s.confirmPage(w, "bank-validate", "Your bank (simulated)", &current, "./"+url.PathEscape(id), nil)
		return
	}
	switch r.PostForm.Get("decision") {
	case "confirm":
		cancelled(p)
		env, _ := s.envelopeLocked(p)
		s.mu.Unlock()
		s.changed(env)
		if to := back("error_code", "cancelledByUser", "payment_state", "rejected"); to != "" {
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		s.message(w, http.StatusOK, "bank-validate", "The cancellation is confirmed.", "You can close this window.")
	case "abandon":
		s.mu.Unlock()
		if to := back("error", "cancelled", "payment_state", "pending"); to != "" {
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		s.message(w, http.StatusOK, "bank-validate", "The cancellation was not confirmed.", "You can close this window.")
	default:
		s.mu.Unlock()
		s.message(w, http.StatusBadRequest, "bank-validate", "Choose to confirm or abandon the cancellation.", "")
	}
}

// confirmPage shows "Confirm the cancellation of payment N?" with the two buttons.
func (s *Simulator) confirmPage(w http.ResponseWriter, testID, brand string, p *payment, action string, hidden []hiddenField) {
	pg := page{
		Title:   "Confirm the cancellation",
		Brand:   brand,
		TestID:  testID,
		Heading: "Confirm the cancellation of payment " + string(p.ID) + "?",
		Action:  action,
		Hidden:  hidden,
	}
	if line := describePayment(p); line != "" {
		pg.Lines = append(pg.Lines, line)
	}
	render(w, http.StatusOK, pg)
}

// nothingToConfirm shows that the payment has no cancellation waiting for the payer.
func (s *Simulator) nothingToConfirm(w http.ResponseWriter, testID string, p *payment, returnURL string) {
	render(w, http.StatusConflict, page{
		Title:     "Nothing to confirm",
		Brand:     "Powens",
		TestID:    testID,
		Heading:   "There is no cancellation to confirm for payment " + string(p.ID) + ".",
		Lines:     []string{"The payment is " + p.State + "."},
		ReturnURL: returnURL,
	})
}

// message shows a short page with a heading and one line.
func (s *Simulator) message(w http.ResponseWriter, status int, testID, heading, line string) {
	pg := page{Title: heading, Brand: "Powens", TestID: testID, Heading: heading}
	if line != "" {
		pg.Lines = []string{line}
	}
	render(w, status, pg)
}

// render writes a page.
func render(w http.ResponseWriter, status int, pg page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pageTemplate.Execute(w, pg)
}

// describePayment is "50.90 EUR to ACME Corp. (Order 42)" for the confirmation page.
func describePayment(p *payment) string {
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	snap, err := decodePayment(b)
	if err != nil {
		return ""
	}
	line := providers.FormatMoney(snap.Amount, snap.Currency)
	if len(p.Instructions) > 0 && p.Instructions[0].Beneficiary != nil && p.Instructions[0].Beneficiary.Label != "" {
		line += " to " + p.Instructions[0].Beneficiary.Label
	}
	if snap.Description != "" {
		line += " (" + snap.Description + ")"
	}
	return line
}

// withQuery adds query parameters (name, value pairs; empty values left out) to base,
// keeping the ones it has.
func withQuery(base string, kv ...string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
