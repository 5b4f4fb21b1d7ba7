//go:build !unix

package sockpath

import (
	"fmt"
	"os"
)

// CheckDir does nothing where there are no Unix permissions: on Windows the
// directory's ACL (the default one, in the user's temporary directory) is
// what keeps other users out.
func CheckDir(string, int) error { return nil }

// PrepareDir creates dir (and its parents) when missing.
func PrepareDir(dir string, _ int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the socket directory: %w", err)
	}
	return nil
}

// CheckSocket only checks that the socket exists (see CheckDir).
func CheckSocket(path string, _ int) error {
	if _, err := os.Lstat(path); err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	return nil
}
