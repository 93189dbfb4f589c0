package web_test

import (
	"net/http"
	"paydesk/providers/bpc"
	"paydesk/storage/storagetest"
	"regexp"
	"strings"
	"testing"
	"time"
)

var govAuditRowRe = regexp.MustCompile(`(?s)<tr data-testid="audit-row" data-id="(\d+)">(.*?)</tr>`)

// govAuditRows returns the text of each entry the audit page lists, by id.
func govAuditRows(body string) (ids []string, texts []string) {
	for _, m := range govAuditRowRe.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
		texts = append(texts, text(m[2]))
	}
	return ids, texts
}

func TestAuditLogFiltersAndChain(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000})
	mustContain(t, govRequestRefund(t, h.signedIn("sam"), p, "20.00", "duplicate", ""), "done")
	fran := h.signedIn("fran")

	page := fran.get("/audit")
	if got := attr(page.body, "chain-status", "data-chain"); got != "intact" {
		t.Errorf("chain status %q, want intact", got)
	}
	mustContain(t, page, "The audit chain is intact")
	ids, texts := govAuditRows(page.body)
	if len(ids) < 3 {
		t.Fatalf("the audit page lists %d entries: %v", len(ids), texts)
	}
	for i := 1; i < len(ids); i++ {
		if len(ids[i]) > len(ids[i-1]) || (len(ids[i]) == len(ids[i-1]) && ids[i] > ids[i-1]) {
			t.Errorf("entries not newest first: %v", ids)
			break
		}
	}

	tests := []struct {
		query string
		want  []string // every listed entry says all of these
		min   int
	}{
		{"kind=sign_in", []string{"sign_in"}, 2},
		{"actor=sam%40paydesk.example", []string{"sam@paydesk.example"}, 2},
		{"kind=action&payment=" + p.PublicID, []string{"action", p.PublicID, "refund 20.00 EUR"}, 1},
		{"actor=nobody%40x", nil, 0},
	}
	for _, tt := range tests {
		r := fran.get("/audit?" + tt.query)
		ids, texts := govAuditRows(r.body)
		if len(ids) < tt.min || (tt.min == 0 && len(ids) != 0) {
			t.Errorf("%s: %d entries, want at least %d: %v", tt.query, len(ids), tt.min, texts)
		}
		for _, txt := range texts {
			for _, w := range tt.want {
				if !strings.Contains(txt, w) {
					t.Errorf("%s: entry %q does not say %q", tt.query, txt, w)
				}
			}
		}
	}
	for _, tt := range []struct{ query, want string }{
		{"payment=pd_nosuchpayment", "There is no payment pd_nosuchpayment."},
		{"payment=42", `"42" is not a Paydesk payment id`},
		{"from=yesterday", "The From date must look like"},
		{"before=x", "This page link is damaged"},
	} {
		r := fran.get("/audit?" + tt.query)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", tt.query, r.status)
		}
		mustContain(t, r, tt.want)
	}
}

func TestAuditLogShowsABrokenChain(t *testing.T) {
	h := newHarness(t)
	max := h.signedIn("max")
	h.signedIn("fran")
	mustContain(t, max.get("/audit"), "The audit chain is intact")

	// Someone with the database file rewrites the second entry behind Paydesk's back.
	unguard := `DROP TRIGGER audit_log_no_update`
	if storagetest.Postgres() {
		unguard = `ALTER TABLE audit_log DISABLE TRIGGER USER`
	}
	for _, stmt := range []string{unguard, `UPDATE audit_log SET actor = 'nobody@x' WHERE id = 2`} {
		if _, err := h.db.SQL().Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	// The page verifies at most once a minute: a minute later it shows the break.
	if got := attr(max.get("/audit").body, "chain-status", "data-chain"); got != "intact" {
		t.Errorf("within the minute the page shows %q, want the last result (intact)", got)
	}
	h.clock.Advance(61 * time.Second)
	page := max.get("/audit")
	if got := attr(page.body, "chain-status", "data-chain"); got != "broken" {
		t.Fatalf("chain status %q, want broken", got)
	}
	mustContain(t, page, "The audit chain is broken at entry #2.", "Entry 2 does not match its hash", "paydesk audit verify")
	if !strings.Contains(page.body, `href="/audit?before=3"`) {
		t.Errorf("no link to the log from the broken entry")
	}
	ids, texts := govAuditRows(max.get("/audit?before=3").body)
	if len(ids) == 0 || ids[0] != "2" || !strings.Contains(texts[0], "chain broken here") {
		t.Errorf("the log from the broken entry = %v %v, want entry 2 first, marked", ids, texts)
	}
}

func TestAuditCSVExport(t *testing.T) {
	h := newHarness(t)
	h.signedIn("sam")
	fran := h.signedIn("fran")
	header, rows := govCSV(t, fran, "/audit.csv?kind=sign_in")
	if strings.Join(header, ",") != "id,at,actor,remote,kind,payment,message,data,prev_hash,hash" {
		t.Errorf("header %v", header)
	}
	if len(rows) != 2 {
		t.Errorf("%d sign-in rows, want 2 (sam, fran)", len(rows))
	}
	for _, row := range rows {
		if row["kind"] != "sign_in" || len(row["hash"]) != 64 {
			t.Errorf("row %v", row)
		}
		if _, err := time.Parse(time.RFC3339, row["at"]); err != nil {
			t.Errorf("at %q is not RFC 3339", row["at"])
		}
	}
	// The export is itself in the log, with its filter, and exports everything unfiltered.
	_, all := govCSV(t, fran, "/audit.csv")
	found := 0
	for _, row := range all {
		if row["kind"] == "export" && row["actor"] == "fran@paydesk.example" {
			found++
			if !strings.Contains(row["message"], "exported the audit log as CSV") {
				t.Errorf("export entry %q", row["message"])
			}
		}
	}
	if found != 2 {
		t.Errorf("%d export entries in the full export, want 2 (both exports)", found)
	}
	if r := h.signedIn("sam").get("/audit.csv"); r.status != http.StatusForbidden || strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Errorf("support got the audit export: %d %s", r.status, r.header.Get("Content-Type"))
	}
}
