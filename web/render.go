package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"

	"paydesk/ops"
	"paydesk/storage"
	"paydesk/views"
)

// page builds the layout model for the current request: the user, their rights in the
// navigation with its counts (notifications.go), and the flash messages waiting for them.
func (s *Server) page(w http.ResponseWriter, r *http.Request, title, section string) views.Page {
	p := views.Page{Title: title, Section: section, CSS: s.assets.URL("app.css"), JS: s.assets.URL("app.js"), Demo: s.cfg.Demo, MailCatcher: s.cfg.MailBox != nil}
	p.ZoneJS = s.assets.URL("tz.js")
	u := userFrom(r.Context())
	if u.Subject == "" && u.Email == "" {
		return p
	}
	vu := &views.User{
		Name:        u.Name,
		Email:       u.Email,
		CanPayments: ViewPayments.Allows(u),
		CanAct:      Act.Allows(u),
		CanApprove:  Approve.Allows(u),
		CanFinance:  Finance.Allows(u),
		CanAudit:    AuditLog.Allows(u),
		CanManage:   Manage.Allows(u),
	}
	if vu.Name == "" {
		vu.Name = u.Email
	}
	for _, role := range u.Roles {
		vu.Roles = append(vu.Roles, string(role))
	}
	p.User = vu
	p.Counts = s.navCounts(r)
	if vu.CanPayments {
		p.SavedViews = s.navViews(r)
	}
	for _, f := range s.auth.Flashes(w, r) {
		p.Flashes = append(p.Flashes, views.Flash{Kind: f.Kind, Message: f.Message})
	}
	return p
}

// pageBuffers hold pages while they render (see render).
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// getBuffer takes an empty buffer from pageBuffers; putBuffer gives it back.
func getBuffer() *bytes.Buffer {
	buf := pageBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	return buf
}

func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 1<<20 { // an unusually large page is not kept
		buf.Reset()
		pageBuffers.Put(buf)
	}
}

// render writes a full page. Headers (status) must be written before when not 200. The
// page renders into a buffer and leaves in one write, with its length: streamed, templ's
// 4 KB chunks cost a system call each (a tenth of the list page's time under load).
func (s *Server) render(w http.ResponseWriter, r *http.Request, p views.Page, body templ.Component) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-store")
	buf := getBuffer()
	defer putBuffer(buf)
	if err := views.Layout(p, body).Render(r.Context(), buf); err != nil {
		s.log.Error("render", append(logAttrs(r), "err", err)...)
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// renderFragment writes a part of a page a script asks for (a live block, a preview),
// never kept by a cache, in one write with its length (as render).
func (s *Server) renderFragment(w http.ResponseWriter, r *http.Request, c templ.Component, what string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	buf := getBuffer()
	defer putBuffer(buf)
	if err := c.Render(r.Context(), buf); err != nil {
		s.log.Error("render "+what, append(logAttrs(r), "err", err)...)
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// renderBytes renders c into a new byte slice of its own (a body the page cache keeps).
func renderBytes(ctx context.Context, c templ.Component) ([]byte, error) {
	buf := getBuffer()
	defer putBuffer(buf)
	if err := c.Render(ctx, buf); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// renderError writes an error page that leaks nothing but a reference to quote.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	s.render(w, r, s.page(w, r, title, ""), views.ErrorView(views.ErrorPage{Status: status, Title: title, Message: message, Ref: requestID(r.Context())}))
}

// fail is the one way a handler fails: log the real error once, show a safe message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, title, safe string, err error) {
	level := s.log.Warn
	if status >= 500 {
		level = s.log.Error
	}
	level("request failed", append(logAttrs(r), "status", status, "err", err)...)
	s.renderError(w, r, status, title, safe)
}

// notFound is the 404 page.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, "Not found", "There is no page at this address. If you followed a link, the payment or page may no longer exist.")
}

// flash queues a message for the next page.
func (s *Server) flash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	s.auth.AddFlash(w, r, kind, msg)
}

// audit writes an audit entry for the request's user (through the Desk, which logs a
// failure and never shows it).
func (s *Server) audit(r *http.Request, kind string, paymentID int64, message string, data any) {
	s.desk.Audit(r.Context(), s.person(r), kind, paymentID, message, data)
}

// loadPayment reads the payment named in the path, answering 404 itself when there is none.
func (s *Server) loadPayment(w http.ResponseWriter, r *http.Request) (storage.Payment, bool) {
	id := r.PathValue("id")
	if !validPublicID(id) {
		s.notFound(w, r)
		return storage.Payment{}, false
	}
	p, err := s.db.PaymentByPublicID(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		s.notFound(w, r)
		return p, false
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Payment unavailable", "This payment could not be loaded. Try again in a moment.", err)
		return p, false
	}
	return p, true
}

// postedPayment reads a posted form and the payment named in the path, answering itself
// when either fails.
func (s *Server) postedPayment(w http.ResponseWriter, r *http.Request) (storage.Payment, bool) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return storage.Payment{}, false
	}
	return s.loadPayment(w, r)
}

// validPublicID accepts Paydesk ids ("pd_" and lower-case base32), refusing anything else
// before it reaches the database.
func validPublicID(id string) bool {
	if !strings.HasPrefix(id, "pd_") || len(id) > 40 || len(id) < 4 {
		return false
	}
	for _, r := range id[3:] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// stepUp sends a user whose sign-in is too old to move money (the Desk refused with
// ops.ErrStepUp) to sign in again, keeping what they typed for formPath.
func (s *Server) stepUp(w http.ResponseWriter, r *http.Request, formPath string) {
	s.audit(r, "step_up", 0, "sign-in too old for "+r.URL.Path+": asked to sign in again", nil)
	s.auth.StepUp(w, r, formPath, r.PostForm)
}

// refused answers an operation the Desk refused: its words in a flash (a duplicate as
// information, anything else as an error) and back to back; a refund or payment that
// does not exist is the 404 page, an error without words the error page.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, err error, back string) {
	var rf *ops.Refusal
	switch {
	case errors.Is(err, ops.ErrNotFound):
		s.notFound(w, r)
		return
	case !errors.As(err, &rf):
		s.fail(w, r, http.StatusInternalServerError, "Not available", "What this needs could not be loaded, so nothing was done. Try again in a moment.", err)
		return
	}
	kind := "error"
	if errors.Is(err, ops.ErrDuplicate) {
		kind = "info"
	}
	if rf.Cause != nil {
		s.log.Warn("refused", append(logAttrs(r), "err", err)...)
	}
	s.flash(w, r, kind, rf.Message)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// clientIP is where a request came from (the direct peer; Paydesk does not trust
// forwarding headers it cannot verify).
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			return host[:i]
		}
	}
	return host
}
