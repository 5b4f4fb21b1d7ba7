//go:build unix

package pool

import (
	"errors"
	"syscall"
)

// signalGroup sends sig to process group pgid. It reports false when the
// group has no process left.
func signalGroup(pgid int, sig syscall.Signal) bool {
	if pgid <= 1 {
		return false
	}
	err := syscall.Kill(-pgid, sig)
	return !errors.Is(err, syscall.ESRCH)
}

// signalProcess sends sig to one process.
func signalProcess(pid int, sig syscall.Signal) { syscall.Kill(pid, sig) }
