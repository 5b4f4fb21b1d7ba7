//go:build linux

package portable

import "syscall"

// shellAttr starts the session's shell in a session of its own, killed if
// the spawner's thread (the pool) goes away.
func shellAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
}
