package cli

import (
	"fmt"
	"path/filepath"

	"github.com/mothreads/mothreads/client"
)

// Exit statuses of mothreads, as DESIGN.md's External interface fixes them
// (and 127, as env(1) and shells use it).
const (
	// ExitTimeout: the command was killed on its timeout.
	ExitTimeout = 124
	// ExitFailed: mothreads itself failed (no daemon, bad flag, rejected
	// request); the reason is on stderr.
	ExitFailed = 125
	// ExitNotFound: the command name resolved to nothing in the session.
	ExitNotFound = 127
	// ExitSignal plus N: the command died by signal N (or mothreads was
	// interrupted by signal N and cancelled the call).
	ExitSignal = 128
)

// SocketPath returns the socket to use: flag when not empty, else
// client.DefaultSocketPath ($MOTHREADS_SOCKET, $XDG_RUNTIME_DIR/mothreads/
// mothreads.sock, /tmp/mothreads-<uid>/mothreads.sock), made absolute.
func SocketPath(flag string) (string, error) {
	p := flag
	if p == "" {
		p = client.DefaultSocketPath()
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("socket %q: %w", p, err)
	}
	return abs, nil
}
