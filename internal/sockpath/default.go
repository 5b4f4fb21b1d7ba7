package sockpath

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Default is the daemon's socket when none is given, looked up in this
// order (the External interface of DESIGN.md):
//
//  1. $MOTHREADS_SOCKET, when set and not empty;
//  2. $XDG_RUNTIME_DIR/mothreads/mothreads.sock, when XDG_RUNTIME_DIR is set;
//  3. /tmp/mothreads-<uid>/mothreads.sock (the literal /tmp, not $TMPDIR, so
//     that a daemon and a client with different TMPDIRs still meet).
//
// On Windows, where there is no uid, step 3 is
// os.TempDir()\mothreads\mothreads.sock (the temp directory is per user).
//
// It reads the environment on every call.
//
// Trap: the name in step 3 is predictable, and /tmp is writable by
// everyone: another user can create /tmp/mothreads-<uid> first. CheckDir
// refuses such a directory, so the worst that user can do is make the
// default path unusable (the error names the directory and its owner);
// XDG_RUNTIME_DIR, which the system creates per user, avoids that.
func Default() string {
	if p := os.Getenv("MOTHREADS_SOCKET"); p != "" {
		return p
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "mothreads", "mothreads.sock")
	}
	if runtime.GOOS == "windows" {
		return filepath.Join(os.TempDir(), "mothreads", "mothreads.sock")
	}
	return filepath.Join("/tmp", fmt.Sprintf("mothreads-%d", os.Getuid()), "mothreads.sock")
}
