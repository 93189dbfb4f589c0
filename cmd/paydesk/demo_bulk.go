package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"slices"
	"time"

	"paydesk/providers"
	demogen "paydesk/providers/demo"
	"paydesk/storage"
	"paydesk/web/devidp"
)

// bulkDemoFrom is the demo size from which an empty database is filled by the bulk loader
// rather than through the import path: `paydesk demo --payments 1000000` takes under a
// minute instead of a quarter of an hour. Smaller demos keep the import path, so the
// default demo is built exactly as `paydesk import` would build it.
const bulkDemoFrom = 20_000

// seedDemoBulk fills an empty database with count demo payments and their refund history
// (who asked for each refund, which manager approved or rejected it) with the bulk loader:
// generated and validated on every core, inserted on one connection. It reports progress
// to w.
//
// The bulk demo writes no timeline events: its payments show their refunds and requests,
// and their timeline starts with the first thing that happens to them. Writing an
// "imported" event per payment (and the requests' events) cost 4.5 s more on a million
// payments, 61 s in all, past the minute this demo is meant to take (docs/benchmarks.md).
func seedDemoBulk(ctx context.Context, db *storage.DB, c Config, count int, makers map[providers.Name]providers.DemoMaker, w io.Writer) (storage.BulkStats, error) {
	start := time.Now()
	// The generator makes a lot of short-lived JSON: fewer collections save a tenth of
	// the time, for a few hundred megabytes more while it runs (the server's memory limit,
	// gc.go, is lifted meanwhile).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	l, err := db.NewBulkLoader(ctx, storage.BulkOptions{RawCompact: true}) // the makers write compact JSON (TestDemoRawIsCompact)
	if err != nil {
		return storage.BulkStats{}, err
	}
	defer l.Abort()
	opt := demogen.Options{Count: count, Seed: demoSeed, Now: time.Now(), Makers: makers, Staff: demoStaff(c),
		Parse: parseEnvelope}
	prep := func(p demogen.Payment) (storage.BulkPayment, error) {
		b := storage.BulkPayment{Snapshot: p.Snapshot}
		if account := demoAccountOf(p.Snapshot); account != "" {
			b.Snapshot.Account = account // as seedDemo spreads them
		}
		for _, q := range p.Requests {
			b.Requests = append(b.Requests, storage.BulkRefund(q))
		}
		return l.Prepare(b)
	}
	added := 0
	err = demogen.Pipeline(opt, prep, func(b storage.BulkPayment) error {
		if added%1000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := l.Add(b); err != nil {
			return err
		}
		if added++; added%250_000 == 0 && added < count {
			fmt.Fprintf(w, "  %s payments (%s)…\n", groupDigits(added), time.Since(start).Round(time.Second))
		}
		return nil
	})
	if err != nil {
		return storage.BulkStats{}, fmt.Errorf("demo: generate: %w", err)
	}
	fmt.Fprintf(w, "  %s payments inserted; rebuilding the indexes and the search index…\n", groupDigits(added))
	stats, err := l.Close()
	if err != nil {
		return stats, err
	}
	fmt.Fprintf(w, "  %s payments and %s refunds in %s (indexes rebuilt in %s)\n", groupDigits(stats.Payments),
		groupDigits(stats.Refunds), time.Since(start).Round(100*time.Millisecond), stats.Rebuild.Round(100*time.Millisecond))
	return stats, nil
}

// demoStaff is who asks for and approves refunds in the bulk demo's history: the demo
// users who may (support and managers), under the configured approval thresholds.
func demoStaff(c Config) *demogen.Staff {
	st := &demogen.Staff{ApprovalTTL: c.ApprovalTTL}
	for _, u := range devidp.DemoUsers() {
		if slices.Contains(u.Groups, devidp.GroupSupport) || slices.Contains(u.Groups, devidp.GroupManager) {
			st.Requesters = append(st.Requesters, u.Email)
		}
		if slices.Contains(u.Groups, devidp.GroupManager) {
			st.Managers = append(st.Managers, u.Email)
		}
	}
	for _, r := range storage.RefundReasons {
		st.Reasons = append(st.Reasons, r.Code)
	}
	policy := c.approvalPolicy()
	st.Threshold = func(currency string) (int64, bool) {
		if t, ok := policy.Threshold(currency); ok {
			return t, true
		}
		return 1, policy.AlwaysByDefault
	}
	return st
}

// groupDigits writes 1234567 as "1,234,567".
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
