package web

import (
	"errors"
	"net/http"
	"strconv"

	"rsc.io/qr"

	"paydesk/ops"
	"paydesk/storage"
)

// payerLinkCreate asks the Desk for a fresh payer link for a cancellation waiting for the
// payer; the previous link stops working.
func (s *Server) payerLinkCreate(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	back := "/payments/" + p.PublicID
	_, err := s.desk.NewPayerLink(r.Context(), s.person(r), p)
	if errors.Is(err, ops.ErrUnavailable) {
		s.fail(w, r, http.StatusInternalServerError, "Link not saved", ops.Message(err, ""), err)
		return
	}
	if err != nil {
		s.refused(w, r, err, back)
		return
	}
	s.flash(w, r, "success", "A new payer link is ready; the previous one no longer works.")
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// payerLinkQR draws a live payer link as a QR code (PNG), for a payer on the phone.
func (s *Server) payerLinkQR(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return
	}
	l, err := s.db.PayerLinkByID(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && l.State != "active" && l.State != "abandoned") {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "QR code unavailable", "The link could not be read.", err)
		return
	}
	code, err := qr.Encode(l.URL, qr.M)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "QR code unavailable", "This link is too long for a QR code; copy it instead.", err)
		return
	}
	// qr's own PNG encoder draws every module at Scale pixels (its image.Image does not).
	code.Scale = 4
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(code.PNG())
}
