package pool

import (
	"syscall"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/threads"
)

// Call is a started call. Its methods are safe for concurrent use.
type Call struct {
	c    *driver.Call
	task *threads.Task[*Result]
	out  *callOutcome
}

// Wait waits for the call to end and returns its result. An error means the
// call produced no result (its session failed under it before a status
// could be known, or its setup failed); a command that failed is a Result,
// not an error. Wait may be called more than once.
func (h *Call) Wait() (*Result, error) {
	if _, err := h.task.Join(); err != nil {
		return nil, err // the call's thread panicked
	}
	return h.out.r, h.out.err
}

// Signal delivers sig to the command's process group (to the whole session
// for a sticky call). It is a no-op once the command has ended.
func (h *Call) Signal(sig syscall.Signal) {
	h.c.Control(driver.Control{Sig: sig})
}

// Resize changes the size of the command's terminal; it is a no-op for a
// call without one.
func (h *Call) Resize(size WindowSize) {
	h.c.Control(driver.Control{Size: &size})
}

// Cancel cancels the call as cancelling its context would (C6): SIGTERM to
// its process group, SIGKILL after the kill grace.
func (h *Call) Cancel() { h.c.CancelWith("the caller cancelled the call") }

// PID returns the command's main process id (0 for a sticky call, whose
// commands run in the session's shell).
func (h *Call) PID() int { return h.c.PID() }

// Session names the session running the call.
func (h *Call) Session() string { return h.c.Session() }

// Queued returns when the call arrived; Started when its command started.
func (h *Call) Queued() time.Time  { return h.c.Queued }
func (h *Call) Started() time.Time { return h.c.StartedAt() }

// callOutcome is what a call thread produced, set before the thread stops.
type callOutcome struct {
	r   *Result
	err error
}
