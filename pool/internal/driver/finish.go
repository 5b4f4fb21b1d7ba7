package driver

import (
	"syscall"

	"github.com/mothreads/mothreads/pool/internal/proc"
)

// FinishGroup ends what a call left behind once its main process has ended
// (C5): SIGTERM to its process group, time to go until the output is
// complete or the kill grace passes, SIGKILL to what is left, and if the
// output still does not end, a process outside the group holds it and the
// pool stops reading.
func FinishGroup(pgid int, out *proc.Outputs, c *Call) {
	if proc.SignalGroup(pgid, syscall.SIGTERM) {
		if !out.Done().Fired() {
			limit, release := c.Timers.Till(c.Grace)
			out.Done().WaitTill(limit)
			release()
		}
		proc.SignalGroup(pgid, syscall.SIGKILL)
	}
	if !out.Done().Fired() {
		limit, release := c.Timers.Till(c.Grace)
		ok := out.Done().WaitTill(limit)
		release()
		if !ok {
			out.Abandon()
		}
	}
}
