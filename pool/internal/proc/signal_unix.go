//go:build unix

package proc

import (
	"errors"
	"syscall"
)

// SignalGroup sends sig to process group pgid. It reports false when the
// group has no process left.
func SignalGroup(pgid int, sig syscall.Signal) bool {
	if pgid <= 1 {
		return false
	}
	err := syscall.Kill(-pgid, sig)
	return !errors.Is(err, syscall.ESRCH)
}

// SignalProcess sends sig to one process.
func SignalProcess(pid int, sig syscall.Signal) { syscall.Kill(pid, sig) }
