package client

import "github.com/mothreads/mothreads/internal/sockpath"

// DefaultSocketPath is the daemon's socket when none is given, looked up in
// this order (the External interface of DESIGN.md):
//
//  1. $MOTHREADS_SOCKET, when set and not empty;
//  2. $XDG_RUNTIME_DIR/mothreads/mothreads.sock, when XDG_RUNTIME_DIR is set;
//  3. /tmp/mothreads-<uid>/mothreads.sock (the literal /tmp, not $TMPDIR, so
//     that a daemon and a client with different TMPDIRs still meet).
//
// On Windows, where there is no uid, step 3 is
// os.TempDir()\mothreads\mothreads.sock (the temp directory is per user).
//
// It reads the environment on every call. The daemon uses the same rule for
// its --socket default.
//
// Trap: step 3 is a name anyone can guess in a directory anyone can write.
// Dial checks the socket before it sends anything (see WithDaemonUID), so a
// directory made there by another user fails every call with an error that
// names it; it does not receive them.
func DefaultSocketPath() string { return sockpath.Default() }
