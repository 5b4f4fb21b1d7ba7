//go:build linux

package driver

import "syscall"

// newSessionAttr is how a directly spawned command starts: in a new session
// (its own process group, which the pool kills at the end), with the
// terminal on its standard input as its controlling terminal when tty is
// set, and killed if the spawner's thread (the pool) goes away.
func newSessionAttr(tty bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: tty, Ctty: 0, Pdeathsig: syscall.SIGKILL}
}
