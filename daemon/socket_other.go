//go:build !unix

package daemon

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// secureDir creates the socket's directory when missing. On Windows the
// directory's ACL (the default one, in the user's temporary directory) is
// what keeps other users out; there are no Unix permissions to check.
func secureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("daemon: creating the socket directory: %w", err)
	}
	return nil
}

// restrictSocket does nothing: see secureDir.
func restrictSocket(string) error { return nil }

// staleDialError treats every failed connect as a stale socket: Windows
// reports it with its own error codes.
func staleDialError(error) bool { return true }

// maybeSocket reports whether fi may be a socket: Windows reports AF_UNIX
// sockets as reparse points, so anything but a directory may be one.
func maybeSocket(fi os.FileInfo) bool { return !fi.IsDir() }

// noUnixSockets reports whether err says that the system has no AF_UNIX
// sockets (WSAEAFNOSUPPORT): Windows before 10 version 1803, and Wine 8.
func noUnixSockets(err error) bool { return errors.Is(err, syscall.Errno(10047)) }
