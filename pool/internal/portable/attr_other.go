//go:build unix && !linux

package portable

import "syscall"

// shellAttr starts the session's shell in a session of its own. There is
// no parent-death signal here: an idle shell ends when its control pipe
// closes with the pool's process, a busy one once its call has ended.
func shellAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}
