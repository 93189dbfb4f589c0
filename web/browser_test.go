package web_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive Paydesk in headless Chromium (Debian's chromium, installed by
// .ci/run) through the real login page, the real server and the simulators. Each journey
// saves screenshots (PAYDESK_SCREENSHOTS, default $TMPDIR/paydesk-screenshots) and runs
// axe-core on every page it visits.

//go:embed testdata/axe.min.js
var axeSource string

// chromePath finds Chromium; without it the browser tests fail (CI installs it), unless
// PAYDESK_SKIP_BROWSER=1 says this run deliberately goes without a browser (a quick
// local iteration; CI never sets it).
func chromePath(t *testing.T) string {
	t.Helper()
	if os.Getenv("PAYDESK_SKIP_BROWSER") == "1" {
		t.Skip("PAYDESK_SKIP_BROWSER=1: browser journeys not run")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed: apt-get install -y chromium (or run .ci/run), or set PAYDESK_SKIP_BROWSER=1 to run without the browser journeys")
	return ""
}

// chrome is one headless Chromium for a test; each person gets their own browser
// context (their own cookies), as if on their own machine.
type chrome struct {
	t     *testing.T
	alloc context.Context
	base  context.Context
}

func newChrome(t *testing.T) *chrome {
	t.Helper()
	path := chromePath(t)
	dir, err := os.MkdirTemp("", "paydesk-chrome-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	base, cancelBase := chromedp.NewContext(alloc)
	if err := chromedp.Do(base); err != nil {
		cancelBase()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelBase()
		cancelAlloc()
		os.RemoveAll(dir)
	})
	return &chrome{t: t, alloc: alloc, base: base}
}

// person opens a new browser context: a person with their own cookies.
func (c *chrome) person() context.Context {
	ctx, cancel := chromedp.NewContext(c.base, chromedp.WithNewBrowserContext())
	c.t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	c.t.Cleanup(cancelTimeout)
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		shot(t, ctx, "failure")
		t.Fatalf("browser: %v", err)
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		shot(t, ctx, "failure")
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %q: %v", js, err)
	}
	return v
}

var shotMu sync.Mutex
var shotN = map[string]int{}

// shot saves a full-page PNG named after the test and the step.
func shot(t *testing.T, ctx context.Context, step string) string {
	t.Helper()
	return saveShot(t, ctx, step, chromedp.FullScreenshot(100))
}

// shotNow is shot of the viewport alone, for a page in the middle of a navigation (a form
// sent, its answer awaited): FullScreenshot resizes the page to its full height first, and
// Chromium 148 aborts the pending navigation and crashes the tab when it does.
func shotNow(t *testing.T, ctx context.Context, step string) string {
	t.Helper()
	return saveShot(t, ctx, step, chromedp.CaptureScreenshot())
}

// saveShot takes a screenshot with capture and saves it as shot says.
func saveShot(t *testing.T, ctx context.Context, step string, capture chromedp.Action[[]byte]) string {
	t.Helper()
	dir := os.Getenv("PAYDESK_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "paydesk-screenshots")
	}
	os.MkdirAll(dir, 0o755)
	buf, err := chromedp.Run(ctx, capture)
	if err != nil {
		t.Logf("screenshot %s: %v", step, err)
		return ""
	}
	shotMu.Lock()
	shotN[t.Name()]++
	n := shotN[t.Name()]
	shotMu.Unlock()
	name := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png", strings.ReplaceAll(t.Name(), "/", "_"), n, step))
	if err := os.WriteFile(name, buf, 0o644); err != nil {
		t.Logf("screenshot %s: %v", step, err)
	}
	t.Logf("screenshot: %s", name)
	return name
}

// axeViolation is what axe-core reports, reduced to what the test prints.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkA11y runs axe-core on the current page: no serious or critical violation.
func checkA11y(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
		t.Fatalf("inject axe-core on %s: %v", page, err)
	}
	raw := eval[string](t, ctx, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe result on %s: %v", page, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target...))
			}
			t.Errorf("accessibility on %s: %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, where)
		}
	}
}

// signInBrowser signs a person in through the development provider's login page.
func signInBrowser(t *testing.T, ctx context.Context, base, user string) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-username]`)),
	)
	checkA11y(t, ctx, "the sign-in page")
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-username]`), user),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-password]`), user+"-demo"),
		chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`main#main`)),
	)
}

// visit opens a Paydesk page, waits for it, checks accessibility and takes a screenshot.
func visit(t *testing.T, ctx context.Context, url, wait, step string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(wait)))
	checkA11y(t, ctx, step)
	shot(t, ctx, step)
}
