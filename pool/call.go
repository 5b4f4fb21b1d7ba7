package pool

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// Call is a started call. Its methods are safe for concurrent use.
type Call struct {
	c    *call
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
	h.c.control(control{sig: sig})
}

// Resize changes the size of the command's terminal; it is a no-op for a
// call without one.
func (h *Call) Resize(size WindowSize) {
	h.c.control(control{size: &size})
}

// Cancel cancels the call as cancelling its context would (C6): SIGTERM to
// its process group, SIGKILL after the kill grace.
func (h *Call) Cancel() { h.c.cancelWith("the caller cancelled the call") }

// PID returns the command's main process id (0 for a sticky call, whose
// commands run in the session's shell).
func (h *Call) PID() int { return h.c.pid }

// Session names the session running the call.
func (h *Call) Session() string { return h.c.session }

// Queued returns when the call arrived; Started when its command started.
func (h *Call) Queued() time.Time  { return h.c.queued }
func (h *Call) Started() time.Time { return h.c.startedAt }

// call is the pool's state for one call, shared by the caller, the call's
// thread and the shell that runs it.
type call struct {
	id      uint64
	req     *Request
	queued  time.Time
	timeout time.Duration
	grace   time.Duration
	timers  *signals.Timers // the pool's: not fired early at root shutdown

	cancel    signals.Signal // fire to cancel: caller's ctx, Cancel, drain expiry
	mu        sync.Mutex
	cancelWhy string
	ctl       chan control // signals and resizes from the caller

	// Set by the shell before started fires.
	started   signals.Signal
	pid       int
	session   string
	startedAt time.Time

	// sticky: this call creates the sticky session (BaseDir and BaseEnv apply).
	stickyCreate bool
	stopWatch    func() bool // releases the watch on the caller's context
}

type control struct {
	sig  syscall.Signal
	size *WindowSize
}

func (c *call) cancelWith(why string) {
	c.mu.Lock()
	if c.cancelWhy == "" {
		c.cancelWhy = why
	}
	c.mu.Unlock()
	c.cancel.Go()
}

func (c *call) cancelReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelWhy
}

func (c *call) control(m control) {
	if c.started.Fired() && !c.cancel.Fired() {
		select {
		case c.ctl <- m:
		default: // the command is not reading controls fast enough; drop
		}
	}
}

// watchContext cancels the call when ctx is done; call the returned function
// when the call ends.
func (c *call) watchContext(ctx context.Context) func() bool {
	return context.AfterFunc(ctx, func() {
		c.cancelWith("the caller's context ended: " + context.Cause(ctx).Error())
	})
}

// markStarted records that the command is running.
func (c *call) markStarted(session string, pid int) {
	c.session, c.pid, c.startedAt = session, pid, time.Now()
	c.started.Go()
}

// supervisor enforces a running call's timeout and cancellation on a process
// group, and forwards the caller's signals and resizes.
type supervisor struct {
	c        *call
	pgid     int
	resize   func(WindowSize)     // nil without a terminal
	kill     func(syscall.Signal) // how to kill; default: the process group
	deliver  func(syscall.Signal) // how to deliver the caller's signals; default: kill
	timedOut bool
	killed   bool // SIGTERM sent by the pool
	releases []func() bool
}

// wait blocks until one of ended fires (at most three), handling the call's
// triggers meanwhile. On timeout or cancel it sends SIGTERM to the group,
// then SIGKILL once the grace has passed.
func (s *supervisor) wait(ended ...*signals.Signal) {
	c := s.c
	var e [3]<-chan struct{}
	for i, sig := range ended {
		e[i] = sig.Done()
	}
	var timeout <-chan struct{}
	if c.timeout > 0 {
		till, release := c.timers.Till(c.timeout)
		defer release()
		timeout = till.Done()
	}
	cancel := c.cancel.Done()
	var grace, recheck <-chan struct{}
	var termed map[int]bool // group members that got SIGTERM
	checks := 0
	nextCheck := func() {
		// A shell that catches SIGTERM (to run an EXIT trap) dies only once
		// its foreground command ends, and that command may have been forked
		// just after the group was signalled: look for such late members a
		// few times during the grace, and give each of them one SIGTERM.
		checks++
		t, release := c.timers.Till(time.Duration(checks*checks) * 10 * time.Millisecond)
		s.releases = append(s.releases, release)
		recheck = t.Done()
	}
	kill := func(timedOut bool) {
		timeout, cancel = nil, nil
		s.timedOut = timedOut
		s.killed = true
		if s.kill == nil {
			termed = proc.GroupSet(s.pgid)
		}
		s.signal(syscall.SIGTERM)
		g, release := c.timers.Till(c.grace)
		s.releases = append(s.releases, release)
		grace = g.Done()
		if s.kill == nil {
			nextCheck()
		}
	}
	defer func() {
		for _, release := range s.releases {
			release()
		}
	}()
	for {
		select {
		case <-e[0]:
			return
		case <-e[1]:
			return
		case <-e[2]:
			return
		case <-timeout:
			kill(!c.cancel.Fired())
		case <-cancel:
			kill(false)
		case <-grace:
			grace, recheck = nil, nil
			s.signal(syscall.SIGKILL)
		case <-recheck:
			recheck = nil
			for pid := range proc.GroupSet(s.pgid) {
				if !termed[pid] {
					termed[pid] = true
					proc.SignalProcess(pid, syscall.SIGTERM)
				}
			}
			if checks < 4 {
				nextCheck()
			}
		case m := <-c.ctl:
			switch {
			case m.size != nil && s.resize != nil:
				s.resize(*m.size)
			case m.sig != 0 && s.deliver != nil:
				s.deliver(m.sig)
			case m.sig != 0:
				s.signal(m.sig)
			}
		}
	}
}

func (s *supervisor) signal(sig syscall.Signal) {
	if s.kill != nil {
		s.kill(sig)
		return
	}
	proc.SignalGroup(s.pgid, sig)
}

// finish fills the kill-related fields of r.
func (s *supervisor) finish(r *Result) {
	c := s.c
	switch {
	case s.timedOut:
		r.TimedOut = true
		r.Message = joinMessage(r.Message, fmt.Sprintf("timed out after %v", c.timeout))
	case s.killed:
		r.Cancelled = true
		r.Message = joinMessage(r.Message, c.cancelReason())
	}
}

func joinMessage(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
