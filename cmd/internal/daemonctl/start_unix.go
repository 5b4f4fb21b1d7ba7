//go:build unix

package daemonctl

import "syscall"

// sysProcAttr detaches the daemon into a session of its own, or keeps it
// attached in a process group of its own (see pdeathsig).
func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	a := &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(a)
	return a
}
