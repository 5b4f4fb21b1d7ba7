package daemonctl

import "syscall"

// setPdeathsig makes an attached daemon get SIGTERM (an ordered shutdown)
// when its parent dies.
//
// Trap: Linux sends it when the OS thread that started the child exits, not
// the process. Go only ends threads of goroutines that exit while locked to
// their thread, which the callers of Start do not do, so in practice it is
// the process's death.
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }
