package demo_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/demo"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
)

var (
	now     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	parsers = map[providers.Name]func([]byte) (providers.Snapshot, error){
		powens.Name: powens.ParseEnvelope, bpc.Name: bpc.ParseEnvelope, tranzzo.Name: tranzzo.ParseEnvelope,
	}
	makers = map[providers.Name]providers.DemoMaker{
		powens.Name: powens.Demo{SimulatorURL: "http://127.0.0.1:1/sim/powens"}, bpc.Name: bpc.Demo{}, tranzzo.Name: tranzzo.Demo{},
	}
)

func parse(name providers.Name, line []byte) (providers.Snapshot, error) { return parsers[name](line) }

// staff is the demo's people, as cmd/paydesk passes them.
var staff = &demo.Staff{
	Requesters: []string{"sam@paydesk.example", "tess@paydesk.example", "max@paydesk.example", "mia@paydesk.example"},
	Managers:   []string{"max@paydesk.example", "mia@paydesk.example"},
	Reasons:    []string{"requested_by_customer", "duplicate", "fraudulent", "product_not_delivered", "goodwill", "other"},
	Threshold: func(currency string) (int64, bool) {
		t, ok := map[string]int64{"EUR": 50000, "GBP": 40000, "UAH": 2000000, "JPY": 80000}[currency]
		return t, ok
	},
}

// payments runs demo.Payments and returns what it gave.
func payments(t *testing.T, opt demo.Options) []demo.Payment {
	t.Helper()
	var out []demo.Payment
	if err := demo.Payments(opt, func(p demo.Payment) error {
		out = append(out, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPaymentsAreGeneratesLinesParsed: Payments gives, in order, exactly Generate's
// envelopes as the providers' parsers read them, whatever the number of workers.
func TestPaymentsAreGeneratesLinesParsed(t *testing.T) {
	opt := demo.Options{Count: 1500, Seed: 7, Now: now, Makers: makers, Parse: parse}
	// One maker through Parse, the others through DemoSnapshot.
	opt.Makers = map[providers.Name]providers.DemoMaker{powens.Name: envelopeOnly{makers[powens.Name]},
		bpc.Name: makers[bpc.Name], tranzzo.Name: makers[tranzzo.Name]}
	var lines [][]byte
	if err := demo.Generate(opt, func(line []byte) error {
		lines = append(lines, append([]byte(nil), line...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3} {
		opt.Workers = workers
		got := payments(t, opt)
		if len(got) != len(lines) {
			t.Fatalf("%d workers: got %d payments, want %d", workers, len(got), len(lines))
		}
		for i, p := range got {
			want, err := parse(p.Snapshot.Provider, lines[i])
			if err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			if !bytes.Equal(p.Snapshot.Raw, lines[i]) || !reflect.DeepEqual(p.Snapshot, want) {
				t.Fatalf("%d workers, payment %d:\n got %+v\nwant %+v", workers, i, p.Snapshot, want)
			}
			if p.Spec.Seq != i || len(p.Requests) != 0 {
				t.Fatalf("payment %d: seq %d, %d requests without Staff", i, p.Spec.Seq, len(p.Requests))
			}
		}
	}
}

// TestDemoSnapshotIsTheParsedEnvelope: a SnapshotMaker's snapshot is what its parser reads
// from its envelope, for every variant.
func TestDemoSnapshotIsTheParsedEnvelope(t *testing.T) {
	for name, m := range makers {
		sm, ok := m.(demo.SnapshotMaker)
		if !ok {
			continue
		}
		for v := range m.Variants() {
			for _, cur := range m.Currencies() {
				spec := providers.DemoSpec{Seq: 40 + v, Name: "Léa Müller", Email: "lea@example.com", Amount: 123456,
					Currency: cur, CreatedAt: now.Add(-30 * time.Hour), Variant: v, Reference: "ORD-1", Now: now}
				snap, err := sm.DemoSnapshot(spec)
				if err != nil {
					t.Fatalf("%s variant %d: %v", name, v, err)
				}
				env, err := m.Envelope(spec)
				if err != nil {
					t.Fatal(err)
				}
				want, err := parsers[name](env)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(snap, want) {
					t.Errorf("%s variant %d %s:\n got %+v\nwant %+v", name, v, cur, snap, want)
				}
			}
		}
	}
}

// TestPaymentsHistory: with Staff, payments carry a plausible refund history that the
// storage rules accept: requests name the provider's refunds, large ones were decided by
// another manager, requests that never reached the provider fit in what is refundable.
func TestPaymentsHistory(t *testing.T) {
	got := payments(t, demo.Options{Count: 6000, Seed: 3, Now: now, Makers: makers, Parse: parse, Staff: staff})
	again := payments(t, demo.Options{Count: 6000, Seed: 3, Now: now, Makers: makers, Parse: parse, Staff: staff, Workers: 1})
	if !reflect.DeepEqual(got, again) {
		t.Fatal("the history differs between two runs with the same seed")
	}
	refunds := 0
	statuses := map[string]int{}
	for _, p := range got {
		ids := map[string]bool{}
		for _, r := range p.Snapshot.Refunds {
			ids[r.ID] = true
		}
		refunds += len(p.Snapshot.Refunds)
		for _, q := range p.Requests {
			th, needs := staff.Threshold(p.Snapshot.Currency)
			needs = needs && q.Amount >= th
			switch {
			case q.ProviderRefundID != "" && !ids[q.ProviderRefundID]:
				t.Errorf("%s: request names refund %s, not the payment's", p.Snapshot.PaymentID, q.ProviderRefundID)
			case q.ProviderRefundID == "":
				refunds++
				statuses[q.Status]++
			}
			if q.ProviderRefundID != "" {
				statuses["provider "+map[bool]string{true: "approved", false: "direct"}[q.Decision == "approved"]]++
			}
			if q.Decision != "" && (strings.EqualFold(q.DecidedBy, q.RequestedBy) || !strings.HasPrefix(q.DecidedBy, "m")) {
				t.Errorf("request by %s decided by %s", q.RequestedBy, q.DecidedBy)
			}
			if needs != !q.ApprovalExpiresAt.IsZero() {
				t.Errorf("%s of %d %s: needs approval %v, expiry %v", q.Status, q.Amount, p.Snapshot.Currency, needs, q.ApprovalExpiresAt)
			}
			if q.ProviderRefundID != "" && needs && q.Decision != "approved" {
				t.Errorf("a large provider refund without approval: %+v", q)
			}
			if q.RequestedAt.After(now) || q.RequestedAt.Before(p.Snapshot.CreatedAt) || q.DecidedAt.After(now) {
				t.Errorf("request times out of order: payment %v, request %+v", p.Snapshot.CreatedAt, q)
			}
			if q.Status == "awaiting_approval" && !q.ApprovalExpiresAt.After(now) || q.Status == "expired" && q.ApprovalExpiresAt.After(now) {
				t.Errorf("%s request expiring at %v (now %v)", q.Status, q.ApprovalExpiresAt, now)
			}
			if q.Reason == "other" && q.Note == "" {
				t.Errorf("reason other without a note")
			}
		}
	}
	// One payment in five carries a refund; every kind of request appears.
	if share := float64(refunds) / float64(len(got)); share < 0.2 || share > 0.25 {
		t.Errorf("%d refunds for %d payments (%.3f), want a fifth", refunds, len(got), share)
	}
	for _, s := range []string{"failed", "rejected", "expired", "awaiting_approval", "provider approved", "provider direct"} {
		if statuses[s] == 0 {
			t.Errorf("no %s request among %v", s, statuses)
		}
	}
	t.Logf("%d payments, %d refunds: %v", len(got), refunds, statuses)
}

// envelopeOnly is a DemoMaker that is not a SnapshotMaker.
type envelopeOnly struct{ providers.DemoMaker }

// TestPaymentsStops: an error from fn stops the generation and is returned.
func TestPaymentsStops(t *testing.T) {
	stop := errors.New("enough")
	n := 0
	err := demo.Payments(demo.Options{Count: 100_000, Seed: 1, Now: now, Makers: makers, Parse: parse}, func(demo.Payment) error {
		if n++; n == 300 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 300 {
		t.Errorf("got %v after %d payments, want %v after 300", err, n, stop)
	}
	err = demo.Payments(demo.Options{Count: 10, Makers: map[providers.Name]providers.DemoMaker{powens.Name: envelopeOnly{powens.Demo{}}}},
		func(demo.Payment) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "Parse") {
		t.Errorf("a maker without snapshots and no Parse: got %v", err)
	}
}
