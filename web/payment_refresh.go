package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/storage"
)

// paymentRefresh re-reads the payment from its provider and records what changed.
func (s *Server) paymentRefresh(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	prov := s.provider(p.Provider)
	if prov == nil {
		s.flash(w, r, "error", p.Provider.Label()+" is not configured in this Paydesk, so the payment cannot be refreshed.")
		http.Redirect(w, r, "/payments/"+p.PublicID, http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	snap, err := prov.Fetch(ctx, providers.RefOf(p.Snapshot))
	if err != nil {
		s.log.Warn("refresh", append(logAttrs(r), "payment", p.PublicID, "err", err)...)
		s.flash(w, r, "error", fmt.Sprintf("%s could not be read: %s Nothing was changed.", p.Provider.Label(), providers.SafeMessage(err)))
		http.Redirect(w, r, "/payments/"+p.PublicID, http.StatusSeeOther)
		return
	}
	u := userFrom(r.Context())
	_, change, err := s.db.UpsertPayment(r.Context(), snap, storage.UpsertOptions{Actor: u.Email, Kind: "refreshed"})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Refresh failed", "The provider's answer could not be stored; nothing was changed.", err)
		return
	}
	s.settlePayerLinks(r.Context(), p.ID, snap, "staff refresh")
	if change.Changed || change.Created {
		var parts []string
		for _, f := range change.Fields {
			parts = append(parts, fmt.Sprintf("%s %s → %s", f.Field, f.Old, f.New))
		}
		s.flash(w, r, "success", "Refreshed from "+p.Provider.Label()+": "+strings.Join(parts, "; ")+".")
	} else {
		s.flash(w, r, "success", "Refreshed from "+p.Provider.Label()+": nothing changed.")
	}
	http.Redirect(w, r, "/payments/"+p.PublicID, http.StatusSeeOther)
}
