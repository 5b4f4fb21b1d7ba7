//go:build unix && !linux

package driver

import "syscall"

// newSessionAttr is how a directly spawned command starts: in a new session
// (its own process group, which the pool kills at the end), with the
// terminal on its standard input as its controlling terminal when tty is
// set. These systems have no parent-death signal: a command outlives a
// crash of the pool's process.
func newSessionAttr(tty bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: tty, Ctty: 0}
}
