package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestProfilingSetting: PAYDESK_PPROF=1 serves Go's profiles on the metrics listener
// only; without that listener, or with another value, start-up refuses and says why.
func TestProfilingSetting(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	cases := []struct {
		env     map[string]string
		want    bool
		problem string
	}{
		{map[string]string{}, false, ""},
		{map[string]string{"PAYDESK_PPROF": "0", "PAYDESK_METRICS_ADDR": "127.0.0.1:0"}, false, ""},
		{map[string]string{"PAYDESK_PPROF": "1", "PAYDESK_METRICS_ADDR": "127.0.0.1:0"}, true, ""},
		{map[string]string{"PAYDESK_PPROF": "1"}, false, "PAYDESK_PPROF=1 needs PAYDESK_METRICS_ADDR"},
		{map[string]string{"PAYDESK_PPROF": "yes", "PAYDESK_METRICS_ADDR": "127.0.0.1:0"}, false, `PAYDESK_PPROF="yes"`},
	}
	for _, c := range cases {
		cfg, err := loadConfig(env(c.env), true)
		if c.problem != "" {
			if err == nil || !strings.Contains(err.Error(), c.problem) {
				t.Errorf("%v: error %v, want one naming %q", c.env, err, c.problem)
			}
			continue
		}
		if err != nil || cfg.Profiling != c.want {
			t.Errorf("%v: profiling %v (%v), want %v", c.env, cfg.Profiling, err, c.want)
		}
	}

	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("paydesk_up 1\n")) })
	for _, profiling := range []bool{false, true} {
		mux := metricsMux(metrics, profiling)
		for path, want := range map[string]int{"/metrics": 200, "/debug/pprof/": map[bool]int{false: 404, true: 200}[profiling],
			"/debug/pprof/heap": map[bool]int{false: 404, true: 200}[profiling]} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != want {
				t.Errorf("profiling %v: GET %s = %d, want %d", profiling, path, rec.Code, want)
			}
		}
	}
}

// TestPageCacheSetting: PAYDESK_PAGE_CACHE_MB sizes the list's page cache, 0 turns it
// off, anything else is refused by name.
func TestPageCacheSetting(t *testing.T) {
	for value, want := range map[string]int{"": 8 << 20, "8": 8 << 20, "1": 1 << 20, "0": -1} {
		c, err := loadConfig(envWith("PAYDESK_PAGE_CACHE_MB", value), true)
		if err != nil || pageCacheBytes(c.PageCacheMB) != want {
			t.Errorf("PAYDESK_PAGE_CACHE_MB=%q: %d bytes (%v), want %d", value, pageCacheBytes(c.PageCacheMB), err, want)
		}
	}
	for _, value := range []string{"-1", "lots", "4096"} {
		_, err := loadConfig(envWith("PAYDESK_PAGE_CACHE_MB", value), true)
		if err == nil || !strings.Contains(err.Error(), "PAYDESK_PAGE_CACHE_MB") {
			t.Errorf("PAYDESK_PAGE_CACHE_MB=%q: error %v, want one naming the variable", value, err)
		}
	}
}

// TestPageConcurrencySetting: PAYDESK_PAGE_CONCURRENCY takes a number or off.
func TestPageConcurrencySetting(t *testing.T) {
	for value, want := range map[string]int{"": 0, "4": 4, "off": -1} {
		c, err := loadConfig(envWith("PAYDESK_PAGE_CONCURRENCY", value), true)
		if err != nil || c.PageConcurrency != want {
			t.Errorf("PAYDESK_PAGE_CONCURRENCY=%q: %d (%v), want %d", value, c.PageConcurrency, err, want)
		}
	}
	for _, value := range []string{"0", "-2", "many"} {
		if _, err := loadConfig(envWith("PAYDESK_PAGE_CONCURRENCY", value), true); err == nil || !strings.Contains(err.Error(), "PAYDESK_PAGE_CONCURRENCY") {
			t.Errorf("PAYDESK_PAGE_CONCURRENCY=%q: error %v, want one naming the variable", value, err)
		}
	}
}

// envWith is an environment holding one variable.
func envWith(key, value string) func(string) string {
	return func(k string) string {
		if k == key {
			return value
		}
		return ""
	}
}

// TestBatchSettings: PAYDESK_BATCH_MAX_ITEMS (10,000 by default) and PAYDESK_BATCH_CAPS
// (none by default) are read, and a wrong value is refused naming the variable.
func TestBatchSettings(t *testing.T) {
	c, err := loadConfig(envWith("PAYDESK_BATCH_MAX_ITEMS", ""), true)
	if err != nil || c.BatchMaxItems != 10000 || len(c.BatchCaps) != 0 {
		t.Errorf("defaults: %d items, caps %v (%v)", c.BatchMaxItems, c.BatchCaps, err)
	}
	c, err = loadConfig(envWith("PAYDESK_BATCH_CAPS", "EUR:10000.00, JPY:500000"), true)
	if err != nil || c.BatchCaps["EUR"] != 1000000 || c.BatchCaps["JPY"] != 500000 {
		t.Errorf("caps %v (%v)", c.BatchCaps, err)
	}
	if c.BatchUndo != 10*time.Minute || c.BatchRate != 5 {
		t.Errorf("defaults: undo %v, rate %v", c.BatchUndo, c.BatchRate)
	}
	c, err = loadConfig(envWith("PAYDESK_BATCH_UNDO", "2m30s"), true)
	if err != nil || c.BatchUndo != 150*time.Second {
		t.Errorf("undo %v (%v)", c.BatchUndo, err)
	}
	c, err = loadConfig(envWith("PAYDESK_BATCH_RATE", "0.5"), true)
	if err != nil || c.BatchRate != 0.5 {
		t.Errorf("rate %v (%v)", c.BatchRate, err)
	}
	for name, value := range map[string]string{"PAYDESK_BATCH_MAX_ITEMS": "0", "PAYDESK_BATCH_CAPS": "EUR:lots",
		"PAYDESK_BATCH_UNDO": "soon", "PAYDESK_BATCH_RATE": "0", "PAYDESK_BATCH_RATE ": "fast"} {
		name = strings.TrimSpace(name)
		if _, err := loadConfig(envWith(name, value), true); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v, want one naming the variable", name, value, err)
		}
	}
}
