package driver

import (
	"fmt"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// Supervisor enforces a running call's timeout and cancellation on a
// process group, and forwards the caller's signals and resizes. Set the
// exported fields, then call Wait (again if it returned for an event that
// did not end the call: the timeout and the kill grace run on from where
// they were) and Finish once.
type Supervisor struct {
	Call    *Call
	PGID    int
	Resize  func(WindowSize)     // nil without a terminal
	Kill    func(syscall.Signal) // how to kill; default: the process group
	Deliver func(syscall.Signal) // how to deliver the caller's signals; default: Kill

	timedOut  bool
	killed    bool // SIGTERM sent by the pool
	timeoutAt time.Time
	graceAt   time.Time // when SIGKILL is due, once killed
	sigkilled bool
	releases  []func() bool
}

// Wait blocks until one of ended fires (at most three), handling the call's
// triggers meanwhile. On timeout or cancel it sends SIGTERM to the group,
// then SIGKILL once the grace has passed.
func (s *Supervisor) Wait(ended ...*signals.Signal) {
	c := s.Call
	var e [3]<-chan struct{}
	for i, sig := range ended {
		e[i] = sig.Done()
	}
	if c.Timeout > 0 && s.timeoutAt.IsZero() {
		s.timeoutAt = time.Now().Add(c.Timeout)
	}
	var timeout, cancel, grace, recheck <-chan struct{}
	switch {
	case !s.killed:
		if !s.timeoutAt.IsZero() {
			till, release := c.Timers.Till(time.Until(s.timeoutAt))
			defer release()
			timeout = till.Done()
		}
		cancel = c.cancel.Done()
	case !s.sigkilled:
		g, release := c.Timers.Till(time.Until(s.graceAt))
		defer release()
		grace = g.Done()
	}
	var termed map[int]bool // group members that got SIGTERM
	checks := 0
	nextCheck := func() {
		// A shell that catches SIGTERM (to run an EXIT trap) dies only once
		// its foreground command ends, and that command may have been forked
		// just after the group was signalled: look for such late members a
		// few times during the grace, and give each of them one SIGTERM.
		checks++
		t, release := c.Timers.Till(time.Duration(checks*checks) * 10 * time.Millisecond)
		s.releases = append(s.releases, release)
		recheck = t.Done()
	}
	kill := func(timedOut bool) {
		timeout, cancel = nil, nil
		s.timedOut = timedOut
		s.killed = true
		if s.Kill == nil {
			termed = proc.GroupSet(s.PGID)
		}
		s.signal(syscall.SIGTERM)
		s.graceAt = time.Now().Add(c.Grace)
		g, release := c.Timers.Till(c.Grace)
		s.releases = append(s.releases, release)
		grace = g.Done()
		if s.Kill == nil {
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
			s.sigkilled = true
			s.signal(syscall.SIGKILL)
		case <-recheck:
			recheck = nil
			for pid := range proc.GroupSet(s.PGID) {
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
			case m.Size != nil && s.Resize != nil:
				s.Resize(*m.Size)
			case m.Sig != 0 && s.Deliver != nil:
				s.Deliver(m.Sig)
			case m.Sig != 0:
				s.signal(m.Sig)
			}
		}
	}
}

func (s *Supervisor) signal(sig syscall.Signal) {
	if s.Kill != nil {
		s.Kill(sig)
		return
	}
	proc.SignalGroup(s.PGID, sig)
}

// Killed reports whether the pool sent the command SIGTERM (a timeout or a
// cancel); read it after Wait.
func (s *Supervisor) Killed() bool { return s.killed }

// Finish fills the kill-related fields of r.
func (s *Supervisor) Finish(r *Result) {
	c := s.Call
	switch {
	case s.timedOut:
		r.TimedOut = true
		r.Message = JoinMessage(r.Message, fmt.Sprintf("timed out after %v", c.Timeout))
	case s.killed:
		r.Cancelled = true
		r.Message = JoinMessage(r.Message, c.CancelReason())
	}
}

// JoinMessage joins two parts of a result's message with "; ".
func JoinMessage(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
