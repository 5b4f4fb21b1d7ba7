package daemonctl

import "syscall"

// sysProcAttr starts a detached daemon in a new process group without a
// console window; an attached one as a plain child.
func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if !detach {
		return nil
	}
	const detachedProcess = 0x00000008
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP | detachedProcess}
}
