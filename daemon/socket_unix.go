//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/mothreads/mothreads/internal/sockpath"
)

// secureDir makes sure dir is fit to hold the socket: its missing
// directories are created 0700, and the whole chain up to / must pass
// sockpath's rule for the daemon's user (owned by that user or root, not
// writable by others unless sticky; the last one writable by its owner
// only), so that nobody else can replace the socket or plant one.
func secureDir(dir string) error {
	if err := sockpath.PrepareDir(dir, os.Geteuid()); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	return nil
}

// restrictSocket makes the socket file 0600. The socket was created with
// the process's umask, but in a directory nobody else can enter.
func restrictSocket(path string) error {
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("daemon: socket %s: %w", path, err)
	}
	return nil
}

// staleDialError reports whether a failed connect means that no process
// listens on the socket any more.
func staleDialError(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// maybeSocket reports whether fi is a socket.
func maybeSocket(fi fs.FileInfo) bool { return fi.Mode()&fs.ModeSocket != 0 }

// noUnixSockets is false: every Unix system has AF_UNIX sockets.
func noUnixSockets(error) bool { return false }
