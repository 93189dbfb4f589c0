package tranzzo

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"paydesk/providers"
)

// TestSeeds replays the JSON of Tranzzo's cancellation guide (verbatim and repaired) and
// the documented error body through the real client, from a plain server (not the
// simulator), and checks the outcome the guide describes. The cancel is always the first
// and only POST; the order is read after it, never before.
func TestSeeds(t *testing.T) {
	tests := []struct {
		name        string
		cancel      string // the fixture answering POST …/order/123/cancel
		cancelCode  int
		order       string // the fixture answering GET …/orders/123, "" for a 404
		kind        providers.OutcomeKind
		message     string
		wantStatus  providers.Status // of the snapshot read after, "" for none
		wantRawBody bool
	}{
		{"repaired answer: cancelled", "seed_cancel_response_fixed.json", 200, "seed_cancel_response_fixed.json",
			providers.Done, "Tranzzo cancelled the unpaid payment.", providers.StatusCancelled, true},
		{"repaired answer, the read after fails: still cancelled", "seed_cancel_response_fixed.json", 200, "",
			providers.Done, "Tranzzo cancelled the unpaid payment.", "", true},
		{"verbatim answer (broken JSON): unknown, never taken as done", "seed_cancel_response.json", 200, "seed_cancel_response_fixed.json",
			providers.Unknown, "Tranzzo answered with something Paydesk could not read", "", false},
		{"documented credentials error: refused with Tranzzo's words", "doc_error_credentials.json", 401, "",
			providers.Refused, "Invalid pos_id field or credentials", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cancel := readFixture(t, tt.cancel)
			var mu sync.Mutex
			var seen []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Method+" "+r.URL.Path)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				switch {
				case r.Method == http.MethodPost && r.URL.Path == "/pos/"+testPOS+"/order/123/cancel":
					if b, _ := io.ReadAll(r.Body); len(b) != 0 {
						t.Errorf("cancel sent a body %q; the guide's request has none", b)
					}
					w.WriteHeader(tt.cancelCode)
					w.Write(cancel)
				case r.Method == http.MethodGet && r.URL.Path == "/pos/"+testPOS+"/orders/123" && tt.order != "":
					w.Write(readFixture(t, tt.order))
				default:
					w.WriteHeader(http.StatusNotFound)
					io.WriteString(w, `{"message":"Order not found","args":{"code":"O-404"}}`)
				}
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL, nil)
			out := c.Cancel(context.Background(), providers.Ref{OrderID: "123", Currency: "UAH"}, providers.CancelRequest{Op: providers.OpCancel})
			if out.Kind != tt.kind || !strings.Contains(out.Message, tt.message) {
				t.Fatalf("got %s %q (%s), want %s containing %q", out.Kind, out.Message, out.Detail, tt.kind, tt.message)
			}
			mu.Lock()
			if len(seen) == 0 || seen[0] != "POST /pos/"+testPOS+"/order/123/cancel" {
				t.Errorf("requests %v, want the cancel first", seen)
			}
			mu.Unlock()
			switch {
			case tt.wantStatus == "" && out.Snapshot != nil && tt.kind == providers.Done:
				t.Errorf("snapshot %+v with no order to read", out.Snapshot)
			case tt.wantStatus != "":
				s := out.Snapshot
				if s == nil || providers.Normalise(*s) != tt.wantStatus || s.OrderID != "123" || s.PaymentID != "9b1392a5-d030-4e85-b02d-9b7191ea2a5e" ||
					s.Amount != 100 || s.Currency != "UAH" || s.ErrorCode != "6007" || s.CustomerName != "Tom Hanks" {
					t.Errorf("snapshot %+v, want order 123 cancelled (6007), 1 UAH, Tom Hanks", s)
				}
				if el := providers.Eligible(*s); el.Any() {
					t.Errorf("a cancelled payment still offers %+v", el)
				}
			}
			if tt.wantRawBody != (len(out.Raw) > 0) {
				t.Errorf("Raw %q, want the answer kept: %v", out.Raw, tt.wantRawBody)
			}
		})
	}
}

// TestSeedsImport: the repaired answer imports as a cancelled payment; the verbatim one is
// refused with a clear error.
func TestSeedsImport(t *testing.T) {
	snap, err := ParseEnvelope([]byte(`{"provider":"tranzzo","transactions":` + string(readFixture(t, "seed_cancel_response_fixed.json")) + `}`))
	if err != nil || Normalise(snap) != providers.StatusCancelled || snap.Mode != "hosted" || snap.Method != "purchase" {
		t.Errorf("repaired: %+v, %v; want a cancelled hosted purchase", snap, err)
	}
	if _, err := ParseEnvelope([]byte(`{"provider":"tranzzo","transactions":` + string(readFixture(t, "seed_cancel_response.json")) + `}`)); err == nil {
		t.Error("verbatim (broken JSON) imported, want an error")
	}
}
