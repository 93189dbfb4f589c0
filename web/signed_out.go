package web

import (
	"context"
	"io"
	"net/http"

	"github.com/a-h/templ"

	"paydesk/views"
)

// signedOutBody is the signed-out page's text: static, so it needs no template.
const signedOutBody = `<h1>You are signed out</h1>
<p data-testid="signed-out">You are signed out of Paydesk. If this is a shared computer, close the browser to end
everything else you used.</p>
<p><a href="/auth/login">Sign in again</a></p>
`

// signedOut is where sign-out ends (GET /signed-out, public): through the identity
// provider's sign-out when provider logout is on, else straight. It says so in the bare
// public layout, so nothing of the session that just ended shows, and it never signs
// anyone in — landing on "/" would send the browser straight back to the provider.
func (s *Server) signedOut(w http.ResponseWriter, r *http.Request) {
	body := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, signedOutBody)
		return err
	})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := views.PublicLayout("Signed out · Paydesk", s.assets.URL("app.css"), body).Render(r.Context(), w); err != nil {
		s.log.Error("render", append(logAttrs(r), "err", err)...)
	}
}
