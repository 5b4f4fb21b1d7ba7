//go:build unix

package daemon_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mothreads/mothreads/daemon"
)

// TestSocketDirectoryChain is L1 of the security report: the daemon checks
// every directory up to /, not only the socket's own, so that the owner of
// an ancestor cannot swap the directory after the check.
func TestSocketDirectoryChain(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give a directory to another user")
	}
	theirs := filepath.Join(shortTempDir(t), "theirs")
	if err := os.Mkdir(theirs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(theirs, "w", "m.sock")
	d := serveDaemon(t, daemon.Config{Socket: sock})
	d.wait(t)
	if d.err == nil || !strings.Contains(d.err.Error(), "directory "+theirs+" is owned by uid 65534, not by root; refusing to use it") {
		t.Errorf("Serve = %v, want a refusal naming %s", d.err, theirs)
	}
	if _, err := os.Lstat(filepath.Join(theirs, "w")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("created a directory under %s anyway (%v)", theirs, err)
	}
}
