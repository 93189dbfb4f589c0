package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretFiles: a variable left unset is read from the file its _FILE names (a
// container secret), without the final line break; both set, an unreadable or an empty
// file are configuration errors naming the variable.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "link-secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	c, err := loadConfig(envOf(map[string]string{"PAYDESK_LINK_SECRET_FILE": secret}), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.LinkSecret) != 32 {
		t.Errorf("link secret from the file: %d bytes, want 32", len(c.LinkSecret))
	}

	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PAYDESK_LINK_SECRET_FILE": secret, "PAYDESK_LINK_SECRET": strings.Repeat("cd", 32)}, "PAYDESK_LINK_SECRET and PAYDESK_LINK_SECRET_FILE are both set"},
		{map[string]string{"PAYDESK_LINK_SECRET_FILE": filepath.Join(dir, "absent")}, "PAYDESK_LINK_SECRET_FILE: " + filepath.Join(dir, "absent") + " cannot be read"},
		{map[string]string{"PAYDESK_LINK_SECRET_FILE": empty}, "PAYDESK_LINK_SECRET_FILE: " + empty + " is empty"},
	} {
		if _, err := loadConfig(envOf(tt.env), true); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.env, err, tt.want)
		}
	}
}
