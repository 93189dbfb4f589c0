package web

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestTurnsFirstComeFirstServed: no more than the limit at once; waiters get their turn
// in the order they came; a waiter whose client leaves stops waiting.
func TestTurnsFirstComeFirstServed(t *testing.T) {
	tt := make(turns, 1)
	if !tt.take(context.Background()) {
		t.Fatal("the first take waited")
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tt.take(context.Background())
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			tt.give()
		}()
		time.Sleep(20 * time.Millisecond) // queued in this order
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if tt.take(ctx) {
		t.Fatal("a sixth take got a turn while the first still holds it")
	}
	mu.Lock()
	if len(order) != 0 {
		t.Fatalf("waiters ran while the turn was held: %v", order)
	}
	mu.Unlock()
	tt.give()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("turns given in the order %v, want 0 1 2 3 4", order)
		}
	}
}
