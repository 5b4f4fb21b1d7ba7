package proc

import "syscall"

// GroupSet has no meaning on Windows, where a call's tree is its Job Object
// and the supervisor's kill terminates all of it at once.
func GroupSet(int) map[int]bool { return nil }

// SignalProcess does nothing on Windows, which has no signals.
func SignalProcess(int, syscall.Signal) {}

// SignalGroup is the default way to signal a call's process group (a
// supervisor without a kill). Windows has no process groups: the cmd.exe
// driver always gives its supervisors a kill that acts on the call's Job
// Object, so this is not reached; it signals nothing and says so.
func SignalGroup(pgid int, sig syscall.Signal) bool { return false }
