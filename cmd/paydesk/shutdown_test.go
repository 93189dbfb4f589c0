package main

import (
	"net"
	"testing"
	"time"

	"paydesk/providers/bpc"
	"paydesk/storage/pgtest"
)

// TestSIGTERMLetsARefundInFlightFinish: on SIGTERM (a rolling restart's stop) Paydesk
// stops taking connections at once but lets the requests it holds finish — a refund
// waiting on its provider is answered and stored, not cut — then exits cleanly.
func TestSIGTERMLetsARefundInFlightFinish(t *testing.T) {
	env := newCrashEnv(t)
	if pgtest.Engine() == "postgres" {
		env.db = pgtest.NewDatabase(t)
	}
	p := env.add(bpc.Name)
	proc := env.start(t, "")
	b := proc.signIn(t, "sam")
	key, err := b.refundForm(p)
	if err != nil {
		t.Fatal(err)
	}
	env.refundDelay.Store(int64(1500 * time.Millisecond))
	calls := env.refundCalls.Load()
	answered := make(chan error, 1)
	// The answer is a redirect to the payment page, not followed: this instance is going
	// away (behind a proxy, the next page comes from another).
	direct := &crashBrowser{c: noRedirect(b.c), base: b.base}
	go func() { answered <- direct.submitRefund(p, key, "30.00") }()
	for env.refundCalls.Load() == calls {
		time.Sleep(5 * time.Millisecond) // until the provider holds the refund
	}
	sent := time.Now()
	terminated := make(chan struct{})
	go func() { proc.terminate(t); close(terminated) }()

	// New connections are refused at once: a proxy sends them to another instance.
	deadline := time.Now().Add(time.Second)
	for {
		conn, err := net.DialTimeout("tcp", proc.addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("1s after SIGTERM the instance still takes connections")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-proc.exited:
		t.Fatal("paydesk exited with a request in flight")
	default:
	}
	if err := <-answered; err != nil {
		t.Fatalf("the refund in flight was cut by SIGTERM: %v", err)
	}
	<-terminated
	if a := env.action(t, key); a.State != "succeeded" {
		t.Errorf("the refund in flight at SIGTERM is %s, want succeeded", a.State)
	}
	t.Logf("the refund in flight was answered %s after SIGTERM", time.Since(sent).Round(time.Millisecond))
}
