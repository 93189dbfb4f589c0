package main

import (
	"strings"
	"testing"
)

// TestCrashAtSetting: PAYDESK_TEST_CRASH_AT names a step, alone (the first time it is
// reached) or with @N (the N-th time); anything else is refused at start-up, saying what
// to write.
func TestCrashAtSetting(t *testing.T) {
	for _, c := range []struct {
		in   string
		step string
		n    int
	}{
		{"before_call", "before_call", 1},
		{"before_store", "before_store", 1},
		{"mail_after_send", "mail_after_send", 1},
		{"before_store@7", "before_store", 7},
		{"before_call@1", "before_call", 1},
		{"mail_before_send@12", "mail_before_send", 12},
	} {
		step, n, err := parseCrashAt(c.in)
		if err != nil || step != c.step || n != c.n {
			t.Errorf("%q: %q %d %v, want %q %d", c.in, step, n, err, c.step, c.n)
		}
		if _, err := loadConfig(func(k string) string {
			if k == "PAYDESK_TEST_CRASH_AT" {
				return c.in
			}
			return ""
		}, true); err != nil {
			t.Errorf("%q refused at start-up: %v", c.in, err)
		}
	}
	for _, bad := range []string{"before", "before_store@", "before_store@0", "before_store@-1", "before_store@x", "before_store@07", "before_store@1@2", "@3", "BEFORE_STORE"} {
		if _, _, err := parseCrashAt(bad); err == nil {
			t.Errorf("%q was taken", bad)
		}
		_, err := loadConfig(func(k string) string {
			if k == "PAYDESK_TEST_CRASH_AT" {
				return bad
			}
			return ""
		}, true)
		if err == nil || !strings.Contains(err.Error(), "PAYDESK_TEST_CRASH_AT") {
			t.Errorf("%q: start-up said %v", bad, err)
		}
	}
}

// TestCrashHookCountsTheStep: the hook lets the step pass N-1 times, other steps never
// counting, and kills at the N-th (here it is only counted: the kill is the crash tests').
func TestCrashHookCountsTheStep(t *testing.T) {
	if crashHook("", nil) != nil {
		t.Fatal("no setting must give no hook")
	}
	step, n, _ := parseCrashAt("before_store@3")
	hook := crashHookAt(step, n, func() { panic("killed") })
	killedAt := 0
	call := func(s string) (killed bool) {
		defer func() {
			if recover() != nil {
				killed = true
			}
		}()
		hook(s)
		return false
	}
	for i, s := range []string{"before_call", "before_store", "before_call", "before_store", "mail_before_send", "before_call", "before_store", "before_store"} {
		if call(s) {
			if killedAt != 0 {
				t.Fatalf("killed twice (at %d and %d)", killedAt, i+1)
			}
			killedAt = i + 1
		}
	}
	if killedAt != 7 {
		t.Fatalf("killed at call %d, want 7 (the third before_store)", killedAt)
	}
}
