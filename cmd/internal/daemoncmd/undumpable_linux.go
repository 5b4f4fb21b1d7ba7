//go:build linux

package daemoncmd

import "golang.org/x/sys/unix"

// undumpable makes the daemon's process not dumpable. Its /proc entries
// then belong to root, so no process of the same user (a command of a call
// among them) can open the daemon's descriptors through /proc/PID/fd, read
// its memory or trace it: the FIFOs and sockets of every call stay out of
// reach of every other call. It also means the daemon leaves no core dump.
func undumpable() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
