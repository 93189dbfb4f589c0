package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"paydesk/providers"
	"paydesk/storage"
)

// lazySimulators fill the demo's simulators from the database on demand: a stored payment
// is loaded into its simulator the first time a request names it. Loading a million
// payments at start-up took minutes and gigabytes; this way the demo starts at once and
// holds in memory only the payments someone touched. A payment is loaded once per
// process: after that the simulator is the provider, and its state moves on from there
// (as it did when every payment was loaded at start-up).
type lazySimulators struct {
	db   *storage.DB
	sims simulators
	log  *slog.Logger
	// rows holds one *sync.Once per payment row: concurrent requests for one payment
	// wait for a single load.
	rows sync.Map
	// known remembers the provider ids already resolved, to skip the database next time.
	known sync.Map
}

// handler wraps provider's simulator: before it answers, the payments the request names
// are loaded.
func (l *lazySimulators) handler(provider providers.Name, sim http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, id := range simulatorIDs(provider, r) {
			l.ensure(r, provider, id)
		}
		sim.ServeHTTP(w, r)
	})
}

// ensure loads the stored payment the provider knows by id, once.
func (l *lazySimulators) ensure(r *http.Request, provider providers.Name, id string) {
	key := string(provider) + "|" + id
	if _, ok := l.known.Load(key); ok {
		return
	}
	p, err := l.db.PaymentByProviderID(r.Context(), provider, id)
	if errors.Is(err, storage.ErrNotFound) {
		return // the simulator answers "not found", as the provider would
	}
	if err != nil {
		l.log.Warn("simulator could not read a stored payment", "provider", provider, "id", id, "err", err)
		return
	}
	once, _ := l.rows.LoadOrStore(p.ID, new(sync.Once))
	once.(*sync.Once).Do(func() {
		if err := l.sims.load(p); err != nil {
			l.log.Warn("simulator could not load a stored payment", "payment", p.PublicID, "err", err)
		}
	})
	l.known.Store(key, true)
}

// simulatorIDs returns the provider ids a simulator request names: in its path, or in its
// JSON body for the calls that carry the id there (BPC refunds, Tranzzo void and refund).
// Requests naming no stored payment (Powens' token and webview, BPC's refund by id) need
// none: what they use was made in this process.
func simulatorIDs(provider providers.Name, r *http.Request) []string {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	at := func(i int) string {
		if i < len(segs) {
			return segs[i]
		}
		return ""
	}
	var ids []string
	switch provider {
	case providers.Powens:
		switch {
		case at(0) == "payments" && at(1) != "":
			ids = append(ids, at(1))
		case at(0) == "bank" && at(1) == "validate" && at(2) != "":
			ids = append(ids, at(2))
		}
	case providers.BPC:
		switch {
		case (at(0) == "payments" || at(0) == "sessions") && at(1) != "":
			ids = append(ids, at(1))
		case at(0) == "refunds" && r.Method == http.MethodPost:
			var body struct {
				PaymentID string `json:"paymentId"`
			}
			peekJSON(r, &body)
			ids = append(ids, body.PaymentID)
		}
	case providers.Tranzzo:
		switch {
		case at(0) == "pos" && (at(2) == "orders" || at(2) == "order") && at(3) != "":
			ids = append(ids, at(3))
		case (at(0) == "void" || at(0) == "refund") && r.Method == http.MethodPost:
			var body struct {
				OrderID string `json:"order_id"`
			}
			peekJSON(r, &body)
			ids = append(ids, body.OrderID)
		}
	}
	return slices.DeleteFunc(ids, func(id string) bool { return id == "" })
}

// peekJSON decodes the request's JSON body into v and puts the body back for the
// simulator. A body that is not JSON decodes to nothing: the simulator refuses it itself.
func peekJSON(r *http.Request, v any) {
	if r.Body == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err == nil {
		json.Unmarshal(body, v)
	}
}
