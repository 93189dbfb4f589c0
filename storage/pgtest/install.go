package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// BinEnv names the variable holding the directory of initdb and postgres, when they are
// not where Debian puts them.
const BinEnv = "PAYDESK_POSTGRES_BIN"

// binDir finds the server's binaries: PAYDESK_POSTGRES_BIN, the newest
// /usr/lib/postgresql/N/bin, pg_config --bindir, then the PATH.
func binDir() (string, error) {
	if dir := os.Getenv(BinEnv); dir != "" {
		if !hasServer(dir) {
			return "", fmt.Errorf("%w (%s=%s has no initdb and postgres)", errNoBinaries, BinEnv, dir)
		}
		return dir, nil
	}
	var candidates []string
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return version(versions[i]) > version(versions[j]) })
	candidates = append(candidates, versions...)
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(path))
	}
	for _, dir := range candidates {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", errNoBinaries
}

// version is N in /usr/lib/postgresql/N/bin, so that 15 sorts after 9.6.
func version(bin string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(bin)), 64)
	return v
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// serverUser is who runs initdb and postgres: this process's user, or the postgres user
// when this process is root — both refuse to run as root. The directory is handed to
// that user.
func serverUser(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, the server must run as the postgres user (initdb refuses root): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pgtest: postgres user has ids %q:%q", u.Uid, u.Gid)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
