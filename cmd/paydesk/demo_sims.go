package main

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
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

// mount serves every simulator under /sim/ on mux: an account's at simPrefix of its
// simKey (demo_accounts.go).
func (l *lazySimulators) mount(mux *http.ServeMux) {
	for key, sim := range l.sims {
		mux.Handle(simPrefix(key)+"/", http.StripPrefix(simPrefix(key), l.handler(key, sim)))
	}
}

// handler wraps an account's simulator (key is its simKey): before it answers, the
// payments of that account the request names are loaded.
func (l *lazySimulators) handler(key providers.Name, sim http.Handler) http.Handler {
	provider, account := simAccount(key)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, id := range simulatorIDs(provider, r) {
			l.ensure(r, provider, account, id)
		}
		sim.ServeHTTP(w, r)
	})
}

// ensure loads the stored payment the account knows by id, once. A first account also
// holds the payments stored under "default" (before the demo had accounts).
func (l *lazySimulators) ensure(r *http.Request, provider providers.Name, account, id string) {
	key := string(provider) + "|" + account + "|" + id
	if _, ok := l.known.Load(key); ok {
		return
	}
	p, err := l.db.PaymentByAccountID(r.Context(), provider, account, id)
	if errors.Is(err, storage.ErrNotFound) && account != providers.DefaultAccount && simKey(provider, account) == provider {
		p, err = l.db.PaymentByAccountID(r.Context(), provider, providers.DefaultAccount, id)
	}
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

// simulatorIDs returns the provider ids a simulator request names (in its path, or in
// its JSON body for the calls that carry the id there), as the provider's descriptor
// reads them. Requests naming no stored payment need none: what they use was made in
// this process.
func simulatorIDs(provider providers.Name, r *http.Request) []string {
	d, ok := providers.Lookup(provider)
	if !ok || d.SimulatorIDs == nil {
		return nil
	}
	return slices.DeleteFunc(d.SimulatorIDs(r), func(id string) bool { return id == "" })
}
