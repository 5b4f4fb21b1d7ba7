package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"
)

// socket is the daemon's Unix socket: its listener, the lock that makes
// the daemon the only one on that path, and the identity of the socket file
// it made, so that it removes that file and never a successor's.
type socket struct {
	l    *net.UnixListener
	path string
	lock *os.File // nil where there is no file locking
	made os.FileInfo
}

// listenSocket makes the socket's directory safe, takes the socket's lock,
// clears a stale socket, and listens. A live daemon on path is an error
// matching ErrAlreadyRunning.
func listenSocket(path string, log *slog.Logger) (*socket, error) {
	if err := secureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	lock, err := lockSocket(path)
	if err != nil {
		return nil, err
	}
	s := &socket{path: path, lock: lock}
	if err := clearStale(path, log); err != nil {
		s.unlock()
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		s.unlock()
		return nil, fmt.Errorf("daemon: listening on %s: %w", path, err)
	}
	// Removing the socket is the last step of the shutdown, not the first:
	// the listener closes early, when the daemon stops accepting calls.
	l.SetUnlinkOnClose(false)
	s.l = l
	if err := restrictSocket(path); err != nil {
		s.close()
		return nil, err
	}
	if s.made, err = os.Lstat(path); err != nil {
		s.close()
		return nil, fmt.Errorf("daemon: socket %s: %w", path, err)
	}
	return s, nil
}

// clearStale removes a socket file that no daemon answers on (left by a
// crash). A file that is not a socket is left alone, and is an error.
func clearStale(path string, log *slog.Logger) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("daemon: socket %s: %w", path, err)
	}
	if !maybeSocket(fi) {
		return fmt.Errorf("daemon: %s exists and is not a socket; not removing it", path)
	}
	conn, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("%w on %s", ErrAlreadyRunning, path)
	}
	if !staleDialError(err) {
		return fmt.Errorf("daemon: checking for a daemon on %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("daemon: removing the stale socket %s: %w", path, err)
	}
	log.Info("removed a stale socket", "socket", path)
	return nil
}

// close closes the listener (if still open), removes the socket file if it
// is still the one the daemon made, and releases the lock. It reports
// whether it removed the file.
func (s *socket) close() (bool, error) {
	if s.l != nil {
		s.l.Close() // already closed by the server's stop, usually
	}
	var removed bool
	var err error
	if s.made != nil {
		if fi, serr := os.Lstat(s.path); serr == nil && os.SameFile(fi, s.made) {
			if err = os.Remove(s.path); err == nil {
				removed = true
			} else {
				err = fmt.Errorf("daemon: removing the socket: %w", err)
			}
		}
	}
	s.unlock()
	return removed, err
}

// listener is the socket's listener, nil (not a nil *net.UnixListener)
// when the daemon serves on TCP only.
func (s *socket) listener() net.Listener {
	if s.l == nil {
		return nil
	}
	return s.l
}

func (s *socket) unlock() {
	if s.lock != nil {
		s.lock.Close() // releases the lock; the lock file stays
		s.lock = nil
	}
}
