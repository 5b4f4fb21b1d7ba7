//go:build unix && !linux

package proc

import "syscall"

// GroupSet returns nothing here: without /proc the members of a group are
// not listed, and a supervisor signals the group as a whole only.
func GroupSet(int) map[int]bool { return map[int]bool{} }

// KillSession sends sig to the process group whose id is sid: without
// /proc the members of a session are not listed, so only its leader's
// group is reached (the group a new session starts with). It returns 1 if
// the group had a process.
func KillSession(sid int, sig syscall.Signal) int {
	if SignalGroup(sid, sig) {
		return 1
	}
	return 0
}
