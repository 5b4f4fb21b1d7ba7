package driver

import (
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/signals"
)

// Call is the record of one call, shared by the caller, the call's thread
// in the scheduler and the driver that runs it. The exported fields are set
// by NewCall and not changed after; the rest is reached through methods,
// which are safe for concurrent use.
type Call struct {
	ID      uint64
	Req     *Request
	Queued  time.Time
	Timeout time.Duration   // bounds the command's run; zero: no bound
	Grace   time.Duration   // between SIGTERM and SIGKILL
	Timers  *signals.Timers // the pool's: not fired early at root shutdown

	cancel    signals.Signal // fire to cancel: caller's ctx, Cancel, drain expiry
	mu        sync.Mutex
	cancelWhy string
	ctl       chan Control // signals and resizes from the caller
	stopWatch func() bool  // releases the watch on the caller's context

	// Set by the driver before started fires.
	started   signals.Signal
	pid       int
	session   string
	startedAt time.Time
}

// Control is a signal or a window size the caller sends to a running call.
type Control struct {
	Sig  syscall.Signal
	Size *WindowSize
}

// NewCall returns the record of a call of req that arrived at queued.
func NewCall(id uint64, req *Request, queued time.Time, timeout, grace time.Duration, timers *signals.Timers) *Call {
	return &Call{
		ID: id, Req: req, Queued: queued,
		Timeout: timeout, Grace: grace, Timers: timers,
		ctl: make(chan Control, 8),
	}
}

// CancelWith cancels the call; why is the first reason given, which the
// result's message repeats.
func (c *Call) CancelWith(why string) {
	c.mu.Lock()
	if c.cancelWhy == "" {
		c.cancelWhy = why
	}
	c.mu.Unlock()
	c.cancel.Go()
}

// Cancelled fires when the call is cancelled, at any phase.
func (c *Call) Cancelled() *signals.Signal { return &c.cancel }

// CancelReason says why the call was cancelled ("" if it was not).
func (c *Call) CancelReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelWhy
}

// Control sends m to the running command's supervisor. It is dropped
// before the command started, after a cancel, and when the supervisor is
// not reading controls fast enough.
func (c *Call) Control(m Control) {
	if c.started.Fired() && !c.cancel.Fired() {
		select {
		case c.ctl <- m:
		default: // the command is not reading controls fast enough; drop
		}
	}
}

// WatchContext cancels the call when ctx is done, until StopWatching. The
// reason is ctx's cause when whoever cancelled gave one
// (context.WithCancelCause: "the daemon is shutting down without drain"),
// else "the caller's context ended" with ctx's error.
func (c *Call) WatchContext(ctx context.Context) {
	c.stopWatch = context.AfterFunc(ctx, func() {
		why := "the caller's context ended: " + ctx.Err().Error()
		if cause := context.Cause(ctx); cause != ctx.Err() {
			why = cause.Error()
		}
		c.CancelWith(why)
	})
}

// StopWatching releases the watch WatchContext set up; call it when the
// call ends. It is safe without a watch.
func (c *Call) StopWatching() {
	if c.stopWatch != nil {
		c.stopWatch()
	}
}

// MarkStarted records that the command is running, as process pid (0 when
// it runs in the session's own shell) of the named session.
func (c *Call) MarkStarted(session string, pid int) {
	c.session, c.pid, c.startedAt = session, pid, time.Now()
	c.started.Go()
}

// Started fires when the command has started (MarkStarted).
func (c *Call) Started() *signals.Signal { return &c.started }

// PID, Session and StartedAt are what MarkStarted recorded; read them only
// after Started fired.
func (c *Call) PID() int             { return c.pid }
func (c *Call) Session() string      { return c.session }
func (c *Call) StartedAt() time.Time { return c.startedAt }
