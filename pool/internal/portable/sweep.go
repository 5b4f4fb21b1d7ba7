//go:build unix

package portable

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// sweepTimeout bounds one pgrep run.
const sweepTimeout = 10 * time.Second

// sessionMembers lists the processes of session sid (the session's shell
// is its leader), by `pgrep -s`, which macOS, the BSDs and Linux all have:
// the one portable way to find the processes a call left in process groups
// other than its own. It returns nil if pgrep is missing or fails.
func sessionMembers(pgrep string, sid int) []int {
	if pgrep == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, pgrep, "-s", strconv.Itoa(sid)).Output()
	if err != nil {
		return nil // status 1: no process matched
	}
	var pids []int
	for _, f := range bytes.Fields(out) {
		if pid, err := strconv.Atoi(string(f)); err == nil && pid > 1 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// sweep kills every process of the session but its shell: between calls
// the shell has no other child, so whatever is there was left by a call
// (a job it put in a process group of its own, an orphan of one). Such
// processes get SIGKILL at once: the call is over, its own group already
// had SIGTERM and the kill grace.
// A second look catches what they forked meanwhile.
func (s *Shell) sweep() {
	for range 2 {
		killed := 0
		for _, pid := range sessionMembers(s.pgrep, s.pid) {
			if pid != s.pid {
				syscall.Kill(pid, syscall.SIGKILL)
				killed++
			}
		}
		if killed == 0 {
			return
		}
		s.log.Debug("killed what calls left in the session", "processes", killed)
	}
}
