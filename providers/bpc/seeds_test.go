package bpc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"paydesk/providers"
)

// seedServer is a plain HTTP server (not the simulator) that answers one route with a
// fixture and anything else with 404, recording what it was sent.
type seedServer struct {
	srv *httptest.Server

	mu   sync.Mutex
	seen []seenRequest
}

func newSeedServer(t *testing.T, route string, answer []byte) *seedServer {
	t.Helper()
	s := &seedServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.seen = append(s.seen, seenRequest{r.Method, r.URL.Path, r.Header.Clone(), body})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method+" "+r.URL.Path != route {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not found"}`)
			return
		}
		w.Write(answer)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *seedServer) first() seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return seenRequest{}
	}
	return s.seen[0]
}

// TestSeeds replays every JSON example of BPC's guide through the real client from a
// plain server and checks the outcome the guide describes.
func TestSeeds(t *testing.T) {
	const (
		sessionID = "ps_2GRSigkh7nHdxwjV4Yf7PpdEevc1dAwEvssZuP8TJ6mjuNmPMoV9mB"
		canceled  = "p_HbtjsyScZawhNKxmLPTFP3PDHmFq1B5BAZZ5mx8SP3wSMzVzwWob"
		refunded  = "p_HbtjsyTuig5SWYufjsFeTNAX3WisQFUSvbroA1C48Y5XN8Pstcdw"
	)
	tests := []struct {
		name    string
		fixture string
		route   string // the one call the plain server answers with the fixture
		call    func(c *Client) providers.Outcome
		check   func(t *testing.T, out providers.Outcome, sent seenRequest)
	}{
		{"expire: the session expires", "seed_session_expired.json", "POST /sessions/" + sessionID + "/expire",
			func(c *Client) providers.Outcome {
				return c.Expire(context.Background(), providers.Ref{SessionID: sessionID})
			},
			func(t *testing.T, out providers.Outcome, sent seenRequest) {
				if out.Kind != providers.Done || out.Message != "BPC expired the session." {
					t.Fatalf("got %s %q (%s), want done", out.Kind, out.Message, out.Detail)
				}
				s := out.Snapshot
				if s == nil || s.SessionStatus != "expired" || s.PaymentID != "" || s.Amount != 20000 || s.Currency != "EUR" ||
					s.MerchantReference != "4002" || providers.Normalise(*s) != providers.StatusExpired {
					t.Errorf("snapshot %+v, want the session expired, 200.00 EUR, reference 4002, no payment", s)
				}
				if el := providers.Eligible(*s); el.Any() {
					t.Errorf("an expired session still offers %+v", el)
				}
				if len(sent.Body) != 0 || sent.Header.Get("Content-Type") != "" {
					t.Errorf("expire sent a body %q (%s), the guide's request has none", sent.Body, sent.Header.Get("Content-Type"))
				}
			}},
		{"cancel: the payment is canceled", "seed_payment_canceled.json", "POST /payments/" + canceled + "/cancel",
			func(c *Client) providers.Outcome {
				return c.Cancel(context.Background(), providers.Ref{PaymentID: canceled}, providers.CancelRequest{Op: providers.OpCancel})
			},
			func(t *testing.T, out providers.Outcome, sent seenRequest) {
				if out.Kind != providers.Done || out.Message != "BPC cancelled the payment." {
					t.Fatalf("got %s %q (%s), want done", out.Kind, out.Message, out.Detail)
				}
				s := out.Snapshot
				if s == nil || s.PaymentID != canceled || s.RawStatus != "canceled" || s.Amount != 10000 || s.Captured != 0 ||
					s.CardLast4 != "1111" || s.CustomerEmail != "test@example.com" || providers.Normalise(*s) != providers.StatusCancelled {
					t.Errorf("snapshot %+v, want the payment canceled, 100.00 EUR, card 1111", s)
				}
				if len(sent.Body) != 0 {
					t.Errorf("cancel sent a body %q, the guide's request has none", sent.Body)
				}
			}},
		{"refund: succeeded", "seed_refund_succeeded.json", "POST /refunds",
			func(c *Client) providers.Outcome {
				return c.Refund(context.Background(), providers.Ref{PaymentID: refunded, Currency: "EUR"}, providers.RefundRequest{Amount: 70000})
			},
			func(t *testing.T, out providers.Outcome, sent seenRequest) {
				if out.Kind != providers.Done || out.Message != "BPC refunded 700.00 EUR." {
					t.Fatalf("got %s %q (%s), want done", out.Kind, out.Message, out.Detail)
				}
				if !strings.HasPrefix(out.RefundID, "re_PCPaoQPuTeE293WF2Usq9enFQwVLwV5Kkz5uA9L52fYiDiTw8cmas5HhLMEaSzkEDuiMmPtbyZZnMZYqFbkw44ih") {
					t.Errorf("refund id %q, want the guide's", out.RefundID)
				}
				// The request is the guide's own example, field for field.
				want := readFixture(t, "seed_refund_request.json")
				var got, exp map[string]any
				if json.Unmarshal(sent.Body, &got) != nil || json.Unmarshal(want, &exp) != nil || !equalJSON(got, exp) {
					t.Errorf("refund request %s, want the guide's %s", sent.Body, want)
				}
				if ct := sent.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q, want application/json", ct)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSeedServer(t, tt.route, readFixture(t, tt.fixture))
			c, err := New(Config{BaseURL: srv.srv.URL, APIKey: "6HUXQFbeomV1zf5i8cgm5W8KfncENVEa5uh8RngB"}, srv.srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			out := tt.call(c)
			sent := srv.first()
			if sent.Method+" "+sent.Path != tt.route {
				t.Fatalf("first request %s %s, want %s", sent.Method, sent.Path, tt.route)
			}
			if sent.Header.Get("X-Api-Key") != "6HUXQFbeomV1zf5i8cgm5W8KfncENVEa5uh8RngB" || sent.Header.Get("X-Version") != "2023-10-31" {
				t.Errorf("headers %v, want the guide's X-Api-Key and X-Version", sent.Header)
			}
			if !bytes.Equal(out.Raw, readFixture(t, tt.fixture)) {
				t.Errorf("Raw is not BPC's answer as sent")
			}
			tt.check(t, out, sent)
		})
	}
}

// TestSeedsImport: the guide's session and payment objects import as payments, each
// shown by its own status.
func TestSeedsImport(t *testing.T) {
	for _, tt := range []struct {
		part, fixture string
		want          providers.Status
	}{
		{"session", "seed_session_expired.json", providers.StatusExpired},
		{"payment", "seed_payment_canceled.json", providers.StatusCancelled},
	} {
		raw := `{"provider":"bpc","` + tt.part + `":` + string(readFixture(t, tt.fixture)) + `}`
		snap, err := ParseEnvelope([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", tt.fixture, err)
		}
		if got := Normalise(snap); got != tt.want {
			t.Errorf("%s: status %s, want %s", tt.fixture, got, tt.want)
		}
	}
}

func equalJSON(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
