package web_test

import (
	"net/http"
	"strings"
	"testing"

	"paydesk/ops"
	"paydesk/providers/bpc"
)

// TestRefundFormPreviewsTheRule: the refund form says, before it is sent, which approval
// rule applies to the amount it shows (the rest of the payment) and why; the preview
// endpoint answers for a typed amount; the request that waits shows its rule in the
// managers' queue and in "my refund requests".
func TestRefundFormPreviewsTheRule(t *testing.T) {
	limits, err := ops.ParseThresholds("EUR:500.00")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{thresholds: "EUR:5000.00", rules: []ops.ApprovalRule{{Kind: ops.RulePerPayment, Limits: limits}}})
	staff, manager := h.signedIn("sam"), h.signedIn("mia")
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000})
	mustContain(t, govRequestRefund(t, staff, p, "400.00", "duplicate", ""), "Refund of 400.00 EUR: done")

	form := staff.get("/payments/" + p.PublicID + "/refund")
	mustContain(t, form, "This refund brings the refunds on this payment to 1,000.00 EUR, at or above 500.00 EUR: a manager must approve (rule “per payment”).")
	if !strings.Contains(form.body, `data-refund-rules="/payments/`+p.PublicID+`/refund/rules"`) || !strings.Contains(form.body, `id="refund-rule-box"`) {
		t.Errorf("the form does not carry the preview's address: %.2000s", form.body)
	}

	rules := "/payments/" + p.PublicID + "/refund/rules"
	for _, tt := range []struct{ query, want string }{
		{"?amount=99.99&reason=duplicate", "A refund of 99.99 EUR is sent to the provider at once: no approval rule holds it back."},
		{"?amount=100.00&reason=duplicate", "This refund brings the refunds on this payment to 500.00 EUR, at or above 500.00 EUR: a manager must approve (rule “per payment”)."},
		{"?amount=abc", ""},
		{"?amount=600.01", ""}, // more than is left
	} {
		r := staff.get(rules + tt.query)
		if r.status != http.StatusOK || text(r.body) != tt.want {
			t.Errorf("%s: %d %q, want %q", tt.query, r.status, text(r.body), tt.want)
		}
		if strings.Contains(r.body, "<html") {
			t.Errorf("%s: a whole page, want a fragment", tt.query)
		}
	}
	if r := h.signedIn("fran").get(rules + "?amount=1.00"); r.status != http.StatusForbidden {
		t.Errorf("finance asks the preview: %d, want 403", r.status)
	}

	mustContain(t, govRequestRefund(t, staff, p, "100.00", "duplicate", ""), "awaiting a manager's approval",
		"This refund brings the refunds on this payment to 500.00 EUR, at or above 500.00 EUR: a manager must approve")
	rf := govLastRefund(t, h, p)
	sec := govApprovalSection(manager.get("/approvals").body, rf.ID)
	if got := text(regexpFind(sec, `(?s)data-testid="approval-rule">(.*?)</dd>`)); got != "Rule “per payment”: this refund brings the refunds on this payment to 500.00 EUR, at or above 500.00 EUR." {
		t.Errorf("queue's rule = %q", got)
	}
	mustContain(t, staff.get("/my-refunds"), "Rule “per payment”: this refund brings the refunds on this payment to 500.00 EUR")
}
