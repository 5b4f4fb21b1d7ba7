//go:build unix && !aix && !zos

package daemon

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockSocket takes an exclusive lock on path+".lock", held until the daemon
// removes its socket: two daemons started on the same path at once (two
// auto-starting clients) cannot both decide that the socket is stale. The
// kernel drops the lock when the process dies, so a crash leaves no stale
// lock. The lock file itself stays (removing it would race with the next
// daemon taking it).
func lockSocket(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("daemon: socket lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w on %s", ErrAlreadyRunning, path)
		}
		return nil, fmt.Errorf("daemon: socket lock %s.lock: %w", path, err)
	}
	return f, nil
}
