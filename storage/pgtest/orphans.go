package pgtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dirPrefix starts the name of every private server's directory.
const dirPrefix = "paydesk-pgtest-"

// ownerFile, in a private directory, holds the pid of the test binary that made it.
const ownerFile = "owner.pid"

// sweepOrphans removes the private directories of test binaries that died without
// calling Stop. Their postmaster normally died with them (see Pdeathsig in start); one
// that did not is told to shut down, and its directory goes at the next sweep.
func sweepOrphans(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		owner, ok := readPid(filepath.Join(dir, ownerFile))
		if !ok || alive(owner) {
			continue // in use, or still being made
		}
		if pm, ok := readPid(filepath.Join(dir, "data", "postmaster.pid")); ok && alive(pm) {
			if serves(pm, dir) {
				_ = syscall.Kill(pm, syscall.SIGQUIT)
			}
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// readPid reads the number on the first line of a pid file.
func readPid(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	return pid, err == nil && pid > 0
}

// alive reports whether process pid runs (EPERM: it does, under another user). A zombie
// does not count: an orphan's parent may be slow to reap it.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: trust kill
	}
	// The state follows the command, which is in parentheses and may hold spaces.
	_, rest, _ := bytes.Cut(stat, []byte(") "))
	return len(rest) == 0 || rest[0] != 'Z'
}

// serves reports whether process pid is a postgres serving a data directory under dir,
// so that a reused pid is never signalled.
func serves(pid int, dir string) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.Contains(cmdline, []byte(dir))
}
