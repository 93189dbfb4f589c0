package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
	"paydesk/storage/storagetest"
	"paydesk/web"
)

// FuzzWebhooks sends mutated webhooks through the real handlers of a Paydesk configured
// as in production, over a database holding one payment per provider. Whatever arrives:
// the answer is one of 200, 400, 401, 413 or 503 (never a 500, never a panic); a
// webhook without the right signature is refused with 401 and changes nothing; and no
// payment ever moves back to an earlier status.
func FuzzWebhooks(f *testing.F) {
	ctx := context.Background()
	db, err := storage.Open(ctx, storagetest.DSN(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	spec := func(variant int) providers.DemoSpec {
		return providers.DemoSpec{Seq: variant + 1, Name: "Ada Lovelace", Email: "ada@example.com", Amount: 10000,
			Currency: "EUR", CreatedAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Variant: variant, Reference: "REF-1"}
	}
	pwSim := powens.NewSimulator(powens.SimConfig{ClientID: "pw", ClientSecret: "pw-secret"})
	pwSrv := httptest.NewServer(pwSim)
	f.Cleanup(pwSrv.Close)
	pw, err := powens.New(powens.Config{BaseURL: pwSrv.URL, ClientID: "pw", ClientSecret: "pw-secret", Timeout: 2 * time.Second}, nil)
	if err != nil {
		f.Fatal(err)
	}
	envs := map[providers.Name][]byte{}
	for _, c := range []struct {
		n       providers.Name
		variant int
		make    func(providers.DemoSpec) (json.RawMessage, error)
	}{
		{powens.Name, 2, powens.Demo{}.Envelope},
		{bpc.Name, 8, bpc.Demo{}.Envelope},
		{tranzzo.Name, tranzzo.VariantPurchasePending, tranzzo.Demo{}.Envelope},
	} {
		raw, err := c.make(spec(c.variant))
		if err != nil {
			f.Fatal(err)
		}
		snap, err := parsers[c.n](raw)
		if err != nil {
			f.Fatal(err)
		}
		if _, _, err := db.UpsertPayment(ctx, snap, storage.UpsertOptions{}); err != nil {
			f.Fatal(err)
		}
		envs[c.n] = raw
	}
	if err := pwSim.Load(envs[powens.Name]); err != nil {
		f.Fatal(err)
	}
	// Every fuzzed request comes from one address: its refusals are not limited here
	// (TestWebhookRefusalsRateLimited tests the limit).
	desk, err := ops.New(ops.Config{BaseURL: "http://paydesk.example", LinkSecret: []byte(strings.Repeat("k", 32)),
		WebhookRefusalsPerMinute: 1 << 30,
		Webhooks: map[providers.Name]providers.WebhookReceiver{
			bpc.Name:     bpc.Webhooks{Secret: []byte(bpcWebhookSecret)},
			tranzzo.Name: tranzzo.Webhooks{Secret: []byte(tranzzoWebhookSecret)},
			powens.Name:  powens.Webhooks{Secret: []byte(powensWebhookSecret), Client: pw},
		}},
		db, map[providers.Name]providers.Provider{powens.Name: pw}, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	app, err := web.New(web.Config{}, desk, noAuth{}, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	handler := app.Handler()

	// Seeds: real webhooks about the stored payments, signed and not.
	var env providers.Envelope
	json.Unmarshal(envs[bpc.Name], &env)
	f.Add(uint8(1), bpcBody("payment.succeeded", env.Payment), "", true)
	f.Add(uint8(1), bpcBody("payment.updated", env.Payment), "deadbeef", false)
	f.Add(uint8(1), bpcBody("refund.updated", json.RawMessage(`{"id":"re_1","amount":100,"currency":"EUR","paymentId":"p_1","status":"succeeded"}`)), "", true)
	json.Unmarshal(envs[tranzzo.Name], &env)
	var txs []json.RawMessage
	json.Unmarshal(env.Transactions, &txs)
	f.Add(uint8(2), []byte(txs[0]), "", true)
	f.Add(uint8(2), []byte(`{"name":"Joe","age":20}`), "Bcj3hb-h00HrEMIoJ5nPW5ZHlVQ=", false)
	json.Unmarshal(envs[powens.Name], &env)
	f.Add(uint8(0), []byte(`{"type":"PAYMENT_UPDATED","payment":`+string(env.Payment)+`}`), "", true)
	f.Add(uint8(0), []byte(`{"id":4242}`), "", false)

	paths := []string{"/webhooks/powens", "/webhooks/bpc", "/webhooks/tranzzo"}
	ranks := map[int64]int{}
	f.Fuzz(func(t *testing.T, which uint8, body []byte, sig string, sign bool) {
		path := paths[int(which)%3]
		var req *http.Request
		valid := ""
		switch path {
		case "/webhooks/tranzzo":
			data := base64.URLEncoding.EncodeToString(body)
			valid = tranzzo.Signature([]byte(tranzzoWebhookSecret), data)
			if sign {
				sig = valid
			}
			form := url.Values{"data": {data}, "signature": {sig}}.Encode()
			req = httptest.NewRequest(http.MethodPost, path, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		default:
			secret, header := bpcWebhookSecret, "X-Signature"
			if path == "/webhooks/powens" {
				secret = powensWebhookSecret
			}
			valid = hmacHex(secret, body)
			if sign {
				sig = valid
			}
			req = httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if strings.ContainsAny(sig, "\r\n\x00") {
				return // not a header a client can send
			}
			req.Header.Set(header, sig)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 401, 413, 503:
		default:
			t.Fatalf("%s answered %d: %s", path, w.Code, w.Body)
		}
		if !sign && !signatureMatches(path, sig, valid, body) && w.Code != http.StatusUnauthorized && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s accepted a wrong signature %q with %d", path, sig, w.Code)
		}
		db.EachPayment(ctx, func(p storage.Payment) error {
			if r := p.Status.Rank(); r < ranks[p.ID] {
				t.Fatalf("payment %s moved back to %s", p.PublicID, p.Status)
			} else {
				ranks[p.ID] = r
			}
			return nil
		})
	})
}

// signatureMatches reports whether a fuzzed signature happens to be a valid one (another
// encoding of the right digest).
func signatureMatches(path, sig, valid string, body []byte) bool {
	if sig == valid {
		return true
	}
	if path == "/webhooks/tranzzo" {
		return tranzzo.SignatureOK([]byte(tranzzoWebhookSecret), base64.URLEncoding.EncodeToString(body), sig)
	}
	return false
}
