package pool

import "syscall"

// groupSet has no meaning on Windows, where a call's tree is its Job Object
// and the supervisor's kill terminates all of it at once.
func groupSet(int) map[int]bool { return nil }

func signalProcess(int, syscall.Signal) {}
