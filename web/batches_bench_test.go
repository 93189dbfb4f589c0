package web_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"paydesk/ops"
	"paydesk/providers"
)

// BenchmarkBatchPreview is a 10,000-item batch's dry run on the benchmarks' database (a
// million payments): ops is PreviewBatch itself (the bulk reads, the judging, the draft
// written with its items and audit entry); upload is the whole request, a CSV file
// posted to /batches/preview and parsed first. The payments are spread over the whole
// history, a tenth of them given by the provider's id. The batches it writes are
// deleted afterwards (their audit entries stay, as every batch's do).
func BenchmarkBatchPreview(b *testing.B) {
	e := benchSetup(b)
	ctx := context.Background()
	var last int64
	if err := e.db.SQL().QueryRowContext(ctx, `SELECT max(id) FROM payments`).Scan(&last); err != nil {
		b.Fatal(err)
	}
	n := int(min(10000, last))
	type ref struct{ public, provider string }
	var refs []ref
	rows, err := e.db.SQL().QueryContext(ctx, `SELECT public_id, provider_payment_id FROM payments WHERE id % ? = 0 ORDER BY id LIMIT ?`, max(1, last/10000), n)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.public, &r.provider); err != nil {
			b.Fatal(err)
		}
		refs = append(refs, r)
	}
	rows.Close()
	if len(refs) < n {
		b.Fatalf("only %d payments", len(refs))
	}
	items := make([]ops.BatchInput, n)
	var csv strings.Builder
	csv.WriteString("payment,amount,reason,note\n")
	for i, r := range refs {
		id := r.public
		if i%10 == 0 && r.provider != "" {
			id = r.provider
		}
		amount := "rest"
		if i%3 == 0 {
			amount = "1.00"
		}
		items[i] = ops.BatchInput{Line: i + 2, Payment: id, Amount: amount, Reason: "duplicate"}
		fmt.Fprintf(&csv, "%s,%s,duplicate,\n", id, amount)
	}
	thresholds, _ := ops.ParseThresholds(benchThresholds)
	desk, err := ops.New(ops.Config{BaseURL: "http://paydesk.test", LinkSecret: bytes.Repeat([]byte("k"), 32),
		Approval: ops.ApprovalPolicy{Thresholds: thresholds}}, e.db, map[providers.Name]providers.Provider{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	who := ops.Person{Email: "bench@paydesk.example", Key: "bench", Roles: []ops.Role{ops.RoleSupport}, FreshSignIn: true}
	b.Cleanup(func() {
		e.db.SQL().ExecContext(ctx, `DELETE FROM batch_items WHERE batch_id IN (SELECT id FROM batches WHERE created_by IN ('bench@paydesk.example', 'max@paydesk.example'))`)
		e.db.SQL().ExecContext(ctx, `DELETE FROM batches WHERE created_by IN ('bench@paydesk.example', 'max@paydesk.example')`)
	})
	b.Run("ops", func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			start := time.Now()
			bt, err := desk.PreviewBatch(ctx, who, ops.BatchRefund, items, ops.BatchOrigin{Source: "csv"})
			took = append(took, time.Since(start))
			if err != nil || bt.Items != n {
				b.Fatalf("preview: %v, %d items", err, bt.Items)
			}
			b.ReportMetric(float64(bt.Ready), "ready")
		}
		reportPercentiles(b, took)
	})
	b.Run("upload", func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("kind", "refund")
			fw, _ := mw.CreateFormFile("file", "bench.csv")
			fw.Write([]byte(csv.String()))
			mw.Close()
			req := httptest.NewRequest(http.MethodPost, "/batches/preview", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			w := httptest.NewRecorder()
			start := time.Now()
			e.handler.ServeHTTP(w, req)
			took = append(took, time.Since(start))
			if w.Code != http.StatusSeeOther {
				b.Fatalf("upload: %d %.500s", w.Code, w.Body.String())
			}
		}
		reportPercentiles(b, took)
	})
}
