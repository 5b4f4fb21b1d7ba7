//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// secureDir makes sure dir is fit to hold the socket: created 0700 when
// missing; otherwise a real directory (not a symbolic link) owned by the
// daemon's user that neither its group nor others can write, so that nobody
// else can replace the socket or plant one.
func secureDir(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("daemon: creating the socket directory: %w", err)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return fmt.Errorf("daemon: socket directory: %w", err)
	}
	uid := os.Geteuid()
	switch st, ok := fi.Sys().(*syscall.Stat_t); {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("daemon: socket directory %s is a symbolic link; refusing to use it", dir)
	case !fi.IsDir():
		return fmt.Errorf("daemon: socket directory %s is not a directory", dir)
	case ok && int(st.Uid) != uid:
		return fmt.Errorf("daemon: socket directory %s is owned by uid %d, not by the daemon's uid %d; refusing to use it", dir, st.Uid, uid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("daemon: socket directory %s is writable by its group or others (mode %#o); make it 0700", dir, fi.Mode().Perm())
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
