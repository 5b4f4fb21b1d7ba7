//go:build unix

package daemonctl

import (
	"fmt"
	"os"
	"syscall"
)

// openNoFollow opens path for appending, creating it 0600, and fails on a
// symbolic link instead of following it. O_NONBLOCK keeps a FIFO planted
// there from blocking the open (checkLogFile then refuses it).
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o600)
}

// checkLogFile refuses anything but a regular file of the caller's.
func checkLogFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (mode %v); refusing to use it", fi.Mode())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("owned by uid %d, not by uid %d; refusing to use it", st.Uid, os.Geteuid())
	}
	return nil
}
