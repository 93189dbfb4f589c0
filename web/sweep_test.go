package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// The page sweep looks at what a person sees: every page for every role (support,
// finance, manager, no role, signed out, the payer), over a payment in every state of
// every provider, at desktop (1440×900) and phone (390×844) width, in the light and the
// dark theme. On each it asserts:
//
//   - no template source, Go formatting error (%!), <nil>, zero time (0001-01-01), escaped
//     JSON (\u0026) or double-escaped HTML in the text;
//   - no raw enum (needs_payer, cancelling_webauth…) in the words: a raw code may be shown
//     only as a code, in a monospace element (.mono, <code>, <pre>) beside the plain words;
//   - at phone width the page never scrolls sideways;
//   - axe-core finds no serious or critical violation (colour contrast included) in
//     either theme.
//
// One Chromium, one browser context per person, the pages split over parallel tabs.
// PAYDESK_SWEEP_SHOTS=dir saves what the screen shows of every page in every mode; the README's
// screenshots are taken by the same sweep (make screenshots, see sweepREADMEShots).

// sweepMode is one way of looking at a page.
type sweepMode struct {
	name          string
	width, height int64
	dark          bool
}

var sweepModes = []sweepMode{
	{"desktop-light", 1440, 900, false},
	{"desktop-dark", 1440, 900, true},
	{"phone-light", 390, 844, false},
	{"phone-dark", 390, 844, true},
}

// sweepPage is one page a person opens.
type sweepPage struct {
	name string // for messages and screenshot names
	path string // absolute URL or a path on Paydesk
	wait string // a selector the page shows once loaded
}

// sweepREADMEShots are the README's screenshots: person, page and mode → file name in
// $PAYDESK_README_SHOTS (make screenshots sets it to docs/screenshots).
var sweepREADMEShots = map[string]string{
	"manager|dashboard|desktop-light":               "dashboard.png",
	"support|payments|desktop-light":                "payments-list.png",
	"support|payments|phone-light":                  "payments-phone.png",
	"support|payment-with-payer-link|desktop-light": "payer-link.png",
	"support|payment-refunded|desktop-light":        "payment-refunded.png",
	"support|payment-refunded|desktop-dark":         "payment-dark.png",
	"manager|approvals|desktop-light":               "approvals.png",
	"finance|refunds|desktop-light":                 "refund-history.png",
	"finance|audit|desktop-light":                   "audit-log.png",
	"manager|audit|phone-dark":                      "audit-phone-dark.png",
}

// sweepShotScroll are the README screenshots that show a part of the page below the first
// screen: the element scrolled to the top first.
var sweepShotScroll = map[string]string{
	"payer-link.png": `[data-testid=payer-links]`,
}

var (
	// sweepLeaks may never appear in a page's text (attributes people see included).
	sweepLeaks = []*regexp.Regexp{
		regexp.MustCompile(`@[A-Z][A-Za-z]*\(`),                       // a templ call: @When(it.At)
		regexp.MustCompile(`\{ ?[a-zA-Z_][\w]*(\.[\w]+)+(\(\))? ?\}`), // a templ expression: { p.Title }
		regexp.MustCompile(`templ\.[A-Z]`),
		regexp.MustCompile(`%!`),
		regexp.MustCompile(`<nil>`),
		regexp.MustCompile(`0001-01-01`),
		regexp.MustCompile(`\\u00[0-9a-fA-F]{2}`),     // escaped JSON
		regexp.MustCompile(`&(amp|lt|gt|quot|#\d+);`), // HTML escaped twice
		regexp.MustCompile(`\bNaN\b|\bundefined\b`),   // a script's arithmetic or lookup gone wrong
	}
	// sweepRawWords are provider and internal codes that must not stand in for words: they
	// may appear only as codes (monospace) beside the words that say what they mean.
	sweepRawWords = regexp.MustCompile(`\b(needs_payer|cancelling_webauth|awaiting_approval|awaiting_payment|partially_refunded|requires_capture|requires_action)\b`)
	// sweepRawLabels are codes that are also English words, so they are caught where they
	// would stand alone in place of words: as a whole badge (a payer link's state) or a
	// whole value of the payment's details (BPC's session status, Tranzzo's method and
	// mode), codes beside the words left out. "expired" is not here: it is also the word
	// of the payment's and the refund's expired status.
	sweepRawLabels = map[string]bool{
		"active": true, "abandoned": true, "superseded": true, "confirmed": true, // payer link states
		"open": true, "completed": true, // BPC session statuses
		"purchase": true, "auth": true, "capture": true, "void": true, "hosted": true, "direct": true, // Tranzzo methods and modes
	}
)

// sweepLook is what the page shows, read by the browser.
type sweepLook struct {
	Text        string   `json:"text"`        // every text node and the title, aria-label and placeholder attributes
	Words       string   `json:"words"`       // the same without codes (.mono, code, pre)
	Labels      []string `json:"labels"`      // each badge and detail value, without its codes
	ScrollWidth int      `json:"scrollWidth"` // of the document
	InnerWidth  int      `json:"innerWidth"`
}

const sweepLookJS = `(() => {
	const attrs = el => ["title", "aria-label", "placeholder", "alt"].map(a => el.getAttribute(a) || "").join(" ");
	const all = [...document.querySelectorAll("[title],[aria-label],[placeholder],[alt]")].map(attrs).join(" ");
	const words = document.body.cloneNode(true);
	words.querySelectorAll(".mono, code, pre, script, style").forEach(e => e.remove());
	const bare = el => {
		const c = el.cloneNode(true);
		c.querySelectorAll(".mono, code, pre").forEach(e => e.remove());
		return c.textContent.trim().replace(/\s+/g, " ");
	};
	return JSON.stringify({
		text: document.title + "\n" + document.body.textContent + "\n" + all,
		words: words.textContent,
		labels: [...document.querySelectorAll(".badge, dl.facts dd:not(.mono)")].map(bare),
		scrollWidth: document.documentElement.scrollWidth,
		innerWidth: window.innerWidth,
	});
})()`

func setTheme(dark bool) chromedp.Action[chromedp.Void] {
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// sweep opens each page once in ctx and looks at it in every mode.
func sweep(t *testing.T, ctx context.Context, base, who string, pages []sweepPage) {
	t.Helper()
	for _, pg := range pages {
		u := pg.path
		if strings.HasPrefix(u, "/") {
			u = base + u
		}
		do(t, ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(pg.wait)))
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
			t.Fatalf("inject axe-core on %s: %v", pg.name, err)
		}
		for _, m := range sweepModes {
			where := fmt.Sprintf("%s as %s (%s, %s)", pg.name, who, m.name, pg.path)
			do(t, ctx, chromedp.EmulateViewport(m.width, m.height), setTheme(m.dark))
			var look sweepLook
			if err := json.Unmarshal([]byte(eval[string](t, ctx, sweepLookJS)), &look); err != nil {
				t.Fatalf("read %s: %v", where, err)
			}
			if !m.dark { // the words do not change with the theme
				for _, re := range sweepLeaks {
					if s := re.FindString(look.Text); s != "" {
						t.Errorf("%s shows %q: %q", where, s, around(look.Text, s))
					}
				}
				if s := sweepRawWords.FindString(look.Words); s != "" {
					t.Errorf("%s shows the raw code %q as words: %q", where, s, around(look.Words, s))
				}
				for _, l := range look.Labels {
					if sweepRawLabels[l] {
						t.Errorf("%s shows the raw code %q alone, without words", where, l)
					}
				}
			}
			if m.width < 800 && look.ScrollWidth > int(m.width) {
				t.Errorf("%s scrolls sideways: the page is %d px wide on a %d px screen", where, look.ScrollWidth, m.width)
			}
			sweepAxe(t, ctx, where)
			if dir := os.Getenv("PAYDESK_SWEEP_SHOTS"); dir != "" {
				readmeShot(t, ctx, filepath.Join(dir, pg.name+"-"+who+"-"+m.name+".png"))
			}
			if dir := os.Getenv("PAYDESK_README_SHOTS"); dir != "" {
				if name, ok := sweepREADMEShots[who+"|"+pg.name+"|"+m.name]; ok {
					if sel, ok := sweepShotScroll[name]; ok {
						eval[bool](t, ctx, `(() => { const e = document.querySelector(`+strconv.Quote(sel)+`); if (e) e.scrollIntoView(); return true })()`)
					}
					readmeShot(t, ctx, filepath.Join(dir, name))
					eval[bool](t, ctx, `(() => { window.scrollTo(0, 0); return true })()`)
				}
			}
		}
		// Back to the desktop light mode for the next page's first look.
		do(t, ctx, chromedp.EmulateViewport(sweepModes[0].width, sweepModes[0].height), setTheme(false))
	}
}

// sweepAxe runs the injected axe-core: no serious or critical violation.
func sweepAxe(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	raw := eval[string](t, ctx, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe result on %s: %v", where, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			var at []string
			for _, n := range v.Nodes {
				at = append(at, fmt.Sprint(n.Target...))
			}
			t.Errorf("accessibility on %s: %s (%s): %s at %v", where, v.ID, v.Impact, v.Help, at)
		}
	}
}

// readmeShot saves what the screen shows (not the full page: a README image shows a screen).
func readmeShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(name, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("README screenshot: %s", name)
}

// around is a short excerpt of s around sub.
func around(s, sub string) string {
	i := strings.Index(s, sub)
	if i < 0 {
		return ""
	}
	from, to := max(i-60, 0), min(i+len(sub)+60, len(s))
	return strings.Join(strings.Fields(s[from:to]), " ")
}

// sweepRepresentatives adds a payment in every demo state of every provider and keeps one
// per (provider, normalised status): the same status looks the same on the page.
func sweepRepresentatives(h *harness) []storage.Payment {
	var out []storage.Payment
	seen := map[string]bool{}
	makers := []struct {
		name     providers.Name
		variants int
	}{
		{powens.Name, powens.Demo{}.Variants()},
		{bpc.Name, bpc.Demo{}.Variants()},
		{tranzzo.Name, tranzzo.Demo{}.Variants()},
	}
	for _, m := range makers {
		for v := range m.variants {
			p := h.add(m.name, spec{variant: v, name: "Ada Lovelace"})
			key := string(m.name) + "/" + string(p.Status)
			if !seen[key] {
				seen[key] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// sweptBatches are the batch pages the sweep opens, one per state a person meets.
type sweptBatches struct{ awaiting, running, done string }

// sweepBatches makes sam's batches: one awaiting a manager, one run to its end by the
// worker, one running (started, its items queued). It moves the clock past two undo
// windows, so it runs before anything else is made and before the sweep's people sign in.
func sweepBatches(t *testing.T, h *harness) sweptBatches {
	t.Helper()
	ctx := context.Background()
	sam := h.signedIn("sam")
	request := func(csvText string) string {
		path := uploadBatch(t, sam, csvText)
		mustContain(t, sam.post(path+"/request", url.Values{"digest": {batchDigest(t, sam.get(path))}}), "The batch")
		return path
	}
	var out sweptBatches
	big := h.add(bpc.Name, spec{variant: 2, name: "Zoé Lefèvre"})
	out.awaiting = request("payment,amount,reason,note\n" + big.PublicID + ",700.00,goodwill,\n")
	var done strings.Builder
	done.WriteString("payment,amount,reason,note\n")
	for range 3 {
		done.WriteString(h.add(bpc.Name, spec{variant: 2, name: "Mario Rossi"}).PublicID + ",12.50,duplicate,\n")
	}
	done.WriteString("pd_doesnotexist0,1,duplicate,\n")
	out.done = request(done.String())
	h.clock.Advance(11 * time.Minute)
	if err := h.desk.BatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	out.running = request("payment,amount,reason,note\n" + h.add(bpc.Name, spec{variant: 2, name: "Anna Schmidt"}).PublicID + ",5.00,goodwill,\n")
	h.clock.Advance(11 * time.Minute)
	b, err := h.db.BatchByPublicID(ctx, strings.TrimPrefix(out.running, "/batches/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := h.db.StartBatch(ctx, b.ID, storage.BatchChange{By: "batch worker"}); err != nil || !ok {
		t.Fatalf("start %s: %v %v", b.PublicID, ok, err)
	}
	return out
}

func TestSweepEveryPage(t *testing.T) {
	h := newHarness(t)
	c := newChrome(t)
	start := time.Now()
	batches := sweepBatches(t, h)

	// Payments in every state, refunds of every kind (immediate, approved, rejected,
	// awaiting), one awaiting a manager who may approve it, a live payer link.
	reps := sweepRepresentatives(h)
	refunded := govRefundFixture(t, h)
	samHTTP := h.signedIn("sam")
	waiting := h.add(bpc.Name, spec{variant: 2, amount: 90000, name: "Chloé Durand"})
	mustContain(t, govRequestRefund(t, samHTTP, waiting, "650.00", "goodwill", ""), "awaiting")
	linked := h.add(powens.Name, spec{variant: 2, name: "Germaine Michu", email: "germaine.michu@example.fr"})
	h.powens.SetCancelScenario(linked.PaymentID, powens.CancelNeedsPayerWebview)
	link := payerLinkURL(t, confirm(t, samHTTP, linked, "cancel", nil))
	forPayer := h.add(powens.Name, spec{variant: 2, name: "Jean Dupont"})
	h.powens.SetCancelScenario(forPayer.PaymentID, powens.CancelNeedsPayerWebview)
	payerLink := payerLinkURL(t, confirm(t, samHTTP, forPayer, "cancel", nil))

	cardOK := h.add(bpc.Name, spec{variant: 2, name: "Harry Jones"})
	sessionOpen := h.add(bpc.Name, spec{variant: 0, name: "Olena Shevchenko"})
	powensPending := h.add(powens.Name, spec{variant: 2, name: "Lucas Martin"})
	// A draft batch of every representative payment: most set aside, each with its why.
	var batchCSV strings.Builder
	batchCSV.WriteString("payment,amount,reason,note\n")
	for _, p := range reps {
		batchCSV.WriteString(p.PublicID + ",rest,requested_by_customer,\n")
	}
	batchCSV.WriteString("pd_doesnotexist0,1,duplicate,\n")
	batchPage := samHTTP.upload("refund", "sweep.csv", batchCSV.String())
	if !strings.HasPrefix(batchPage.url.Path, "/batches/bt_") {
		t.Fatalf("the sweep's batch was not made: %s", batchPage.url)
	}

	var paymentPages []sweepPage
	for _, p := range reps {
		paymentPages = append(paymentPages, sweepPage{
			fmt.Sprintf("payment-%s-%s", p.Provider, p.Status), "/payments/" + p.PublicID, `main#main`,
		})
	}
	main := `main#main`
	common := []sweepPage{
		{"dashboard", "/", main},
		{"payments", "/payments", `[data-testid=payments]`},
		{"search-results", "/payments?q=Lovelace&provider=bpc", `[data-testid=payments]`},
		{"search-nothing", "/payments?q=nobody-at-all", `[data-testid=empty]`},
		{"search-bad-filter", "/payments?min=abc&from=yesterday", main},
		{"payment-not-found", "/payments/pd_doesnotexist", main},
		{"page-not-found", "/no-such-page", main},
	}
	support := append(append([]sweepPage{}, common...),
		sweepPage{"payment-with-payer-link", "/payments/" + linked.PublicID, `[data-testid=payer-link-url]`},
		sweepPage{"payment-refunded", "/payments/" + refunded[0].PublicID, main},
		sweepPage{"refund-form", "/payments/" + cardOK.PublicID + "/refund", `[data-testid=refund-amount]`},
		sweepPage{"cancel-form", "/payments/" + powensPending.PublicID + "/cancel", main},
		sweepPage{"expire-form", "/payments/" + sessionOpen.PublicID + "/expire", main},
		sweepPage{"my-refunds", "/my-refunds", main},
		sweepPage{"notifications", "/notifications", `[data-testid=notifications]`},
		sweepPage{"forbidden-audit", "/audit", main},
		sweepPage{"customer", "/customers/email/germaine.michu@example.fr", `[data-testid=customer-totals]`},
		sweepPage{"saved-views", "/views", `[data-testid=views]`},
		sweepPage{"batch-new", "/batches/new", `[data-testid=batch-upload]`},
		sweepPage{"batch", batchPage.url.Path, `[data-testid=batch-items]`},
		sweepPage{"batch-awaiting-own", batches.awaiting, `[data-testid=batch-waits]`},
		sweepPage{"batch-running", batches.running, `[data-testid=batch-progress]`},
		sweepPage{"batch-done", batches.done, `[data-testid=batch-item-outcome]`},
		sweepPage{"saved-views-replacing", "/views?query=currency%3DGBP%26refund%3Dawaiting_approval", `[data-testid=views-query]`},
	)
	finance := []sweepPage{
		{"dashboard", "/", main},
		{"payments", "/payments", `[data-testid=payments]`},
		{"refunds", "/refunds", `[data-testid=refund-history]`},
		{"refunds-filtered", "/refunds?currency=EUR&status=succeeded&bucket=month", main},
		{"refunds-bad-filter", "/refunds?from=2026-13-45", main},
		{"audit", "/audit", `[data-testid=audit]`},
		{"payment-refunded", "/payments/" + refunded[0].PublicID, main},
		{"forbidden-approvals", "/approvals", main},
		{"customer", "/customers/email/germaine.michu@example.fr", `[data-testid=customer-totals]`},
		{"notifications-none", "/notifications", `[data-testid=notifications-empty]`},
		{"saved-views", "/views", `[data-testid=views]`},
		{"batches", "/batches", `[data-testid=batches]`},
		{"batch-done", batches.done, `[data-testid=batch-item-outcome]`},
	}
	manager := []sweepPage{
		{"dashboard", "/", main},
		{"approvals", "/approvals", `[data-testid=approve-button]`},
		{"my-refunds", "/my-refunds", main},
		{"refunds", "/refunds", `[data-testid=refund-history]`},
		{"audit", "/audit", `[data-testid=audit]`},
		{"sessions", "/sessions", main},
		{"notifications", "/notifications", `[data-testid=notifications]`},
		{"outbox", "/outbox", `[data-testid=outbox-counts]`},
		{"settings", "/settings", `[data-testid=mail-settings]`},
		{"payment-awaiting-approval", "/payments/" + waiting.PublicID, main},
		{"batches-awaiting", "/batches", `[data-testid=batches-awaiting]`},
		{"batch-to-approve", batches.awaiting, `[data-testid=batch-approve-form]`},
		{"batch-running", batches.running, `[data-testid=batch-progress]`},
		{"customer", "/customers/email/germaine.michu@example.fr", `[data-testid=customer-totals]`},
	}
	nobody := []sweepPage{
		{"no-access", "/", `[data-testid=no-access]`},
		{"no-access-payments", "/payments", `[data-testid=no-access]`},
	}

	// Each person signs in once; their pages are split over tabs of their browser context.
	person := func(user string) context.Context {
		ctx, cancel := chromedp.NewContext(c.base, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		signInBrowser(t, ctx, h.srv.URL, user)
		return ctx
	}
	type chunk struct {
		who   string
		ctx   context.Context
		pages []sweepPage
	}
	var chunks []chunk
	split := func(who string, ctx context.Context, pages []sweepPage) {
		const per = 8
		for i := 0; i < len(pages); i += per {
			chunks = append(chunks, chunk{who, ctx, pages[i:min(i+per, len(pages))]})
		}
	}
	sam, fran, max, nora := person("sam"), person("fran"), person("max"), person("nora")
	split("support", sam, append(support, paymentPages...))
	split("finance", fran, finance)
	split("manager", max, manager)
	split("no-role", nora, nobody)

	t.Run("pages", func(t *testing.T) {
		for i, ch := range chunks {
			t.Run(fmt.Sprintf("%s-%d", ch.who, i), func(t *testing.T) {
				t.Parallel()
				tab, cancel := chromedp.NewContext(ch.ctx)
				defer cancel()
				tab, cancelTimeout := context.WithTimeout(tab, 5*time.Minute)
				defer cancelTimeout()
				sweep(t, tab, h.srv.URL, ch.who, ch.pages)
			})
		}
		// Signed out: the sign-in page, and where sign-out ends.
		t.Run("signed-out", func(t *testing.T) {
			t.Parallel()
			anon, cancel := chromedp.NewContext(c.base, chromedp.WithNewBrowserContext())
			defer cancel()
			anon, cancelTimeout := context.WithTimeout(anon, 2*time.Minute)
			defer cancelTimeout()
			sweep(t, anon, h.srv.URL, "signed-out", []sweepPage{
				{"sign-in", "/payments", `[data-testid=login-form]`},
				{"signed-out", "/signed-out", main},
			})
		})
		// The payer: opens the link, confirms at the provider, lands on Paydesk's page.
		t.Run("payer", func(t *testing.T) {
			t.Parallel()
			payer, cancel := chromedp.NewContext(c.base, chromedp.WithNewBrowserContext())
			defer cancel()
			payer, cancelTimeout := context.WithTimeout(payer, 2*time.Minute)
			defer cancelTimeout()
			do(t, payer, chromedp.Navigate(payerLink), chromedp.WaitVisible(chromedp.CSS(`[data-testid=confirm-cancellation]`)))
			do(t, payer, chromedp.Click(chromedp.CSS(`[data-testid=confirm-cancellation]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=payer-return]`)))
			back, err := chromedp.Run(payer, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			sweep(t, payer, h.srv.URL, "payer", []sweepPage{{"payer-return", back, `[data-testid=payer-return]`}})
			_ = link
		})
	})
	t.Logf("swept in %s", time.Since(start).Round(time.Millisecond))
}

// On a phone, with script off, the navigation and the filters fold into disclosures that
// open on a tap; a payment's amount and status are on the screen; on a desktop both show
// without a tap.
func TestBrowserPhoneMenuFiltersAndCards(t *testing.T) {
	h := newHarness(t)
	for v := range 3 {
		h.add(bpc.Name, spec{variant: v, name: "Maximilian Alexander Vanderbilt-Montgomery", email: "maximilian.alexander.vanderbilt-montgomery@example-long-domain.com"})
	}
	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	do(t, sam, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	visible := func(sel string) bool {
		return eval[bool](t, sam, `(() => { const e = document.querySelector(`+"`"+sel+"`"+`); if (!e) return false; return e.checkVisibility(); })()`)
	}
	do(t, sam, chromedp.EmulateViewport(390, 844), chromedp.Navigate(h.srv.URL+"/payments"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=payments]`)))
	if visible(`header nav a[href="/payments"]`) || visible(`[data-testid=filter-provider]`) {
		t.Errorf("on a phone the navigation or the filters show before they are opened")
	}
	if !visible(`[data-testid=search]`) || !visible(`[data-testid=search-submit]`) {
		t.Errorf("on a phone the search box is folded away")
	}
	// Every payment's amount and status are within the 390 px screen.
	if off := eval[int](t, sam, `[...document.querySelectorAll("[data-testid=payment-row] td.num, [data-testid=payment-row] .c-status")].filter(e => { const r = e.getBoundingClientRect(); return r.right > 390 || r.left < 0; }).length`); off != 0 {
		t.Errorf("on a phone %d amounts or statuses are off the screen", off)
	}
	do(t, sam, chromedp.Click(chromedp.CSS(`header details.menu > summary`)))
	if !visible(`header nav a[href="/payments"]`) || !visible(`[data-testid=sign-out]`) {
		t.Errorf("the Menu disclosure does not show the navigation once opened")
	}
	do(t, sam, chromedp.Click(chromedp.CSS(`details.filters-more > summary`)))
	if !visible(`[data-testid=filter-provider]`) {
		t.Errorf("the Filters disclosure does not show the filters once opened")
	}
	shot(t, sam, "phone-menu-and-filters-open")
	// A set filter opens the disclosure by itself.
	do(t, sam, chromedp.Navigate(h.srv.URL+"/payments?provider=bpc"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=filter-provider]`)))

	do(t, sam, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(h.srv.URL+"/payments"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=payments]`)))
	if !visible(`header nav a[href="/payments"]`) || !visible(`[data-testid=filter-provider]`) || visible(`header details.menu > summary`) {
		t.Errorf("on a desktop the navigation and the filters are not shown without a tap")
	}
}
