//go:build linux

package bash

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// stickyCalls tracks the one call a sticky session's shell runs at a time.
type stickyCalls struct {
	slot    int // the call in progress, or 0
	started signals.Signal
	done    signals.Signal
	status  int
	failed  string
}

// route applies a sticky report ("s", "d", "e") for the call in progress;
// a report for any other call is a protocol violation. Call with the
// shell's mu held.
func (st *stickyCalls) route(r report) error {
	if st.slot == 0 || r.slot != st.slot {
		return fmt.Errorf("%w: sticky report %q for call %d, which is not running", errBadReport, r.kind, r.slot)
	}
	switch r.kind {
	case 's':
		if st.started.Fired() {
			return fmt.Errorf("%w: call %d started twice", errBadReport, r.slot)
		}
		st.started.Go()
	case 'e':
		if st.started.Fired() {
			return fmt.Errorf("%w: call %d failed after it started", errBadReport, r.slot)
		}
		st.failed = "cwd"
		st.started.Go()
		st.done.Go()
	case 'd':
		if !st.started.Fired() || st.done.Fired() {
			return fmt.Errorf("%w: call %d ended out of turn", errBadReport, r.slot)
		}
		st.status = r.status
		st.done.Go()
	}
	return nil
}

// runSticky runs a call in the sticky session's shell itself, so that what
// it changes stays for the next call. The session's directory and
// environment change only when the call says so (Dir, Env); its base
// directory and environment applied when the session was created. A
// timeout or cancel kills the whole session: its state is lost, and the
// result says so.
func (s *Shell) runSticky(c *driver.Call) (*driver.Result, error) {
	req := c.Req
	var dir string
	if req.Dir != "" {
		d, err := driver.ResolveDir(&driver.Request{Dir: req.Dir}, s.cwd)
		if err != nil {
			return nil, err
		}
		dir = d
	}
	s.mu.Lock()
	n := s.next
	s.next++
	s.mu.Unlock()
	sl, err := newSlot(s.dir, n)
	if err != nil {
		return nil, err
	}
	j := &job{sticky: true, fifoPrefix: sl.prefix, stdin: req.Stdin != nil, dir: dir}
	for _, kv := range driver.Environ(driver.EnvMap(req.Env)) {
		j.set = append(j.set, kv)
	}
	if len(req.Argv) > 0 {
		j.script = argvScript(req.Argv)
	} else {
		j.script = req.Script
	}
	st := &s.sticky
	s.mu.Lock()
	*st = stickyCalls{slot: n}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		st.slot = 0
		s.mu.Unlock()
	}()
	if err := s.send(callMsg(n, encodeJob(j))); err != nil {
		sl.close()
		return nil, err
	}
	select {
	case <-st.started.Done():
	case <-s.gone.Done():
		sl.close()
		return nil, fmt.Errorf("%s: the sticky session's shell has exited (%v)", s.name, s.exitErr)
	}
	sl.unlink()
	if st.failed != "" {
		sl.close()
		return nil, setupFailure(st.failed, req)
	}
	in := newInput(sl.i, nil, req.Stdin)
	sl.i = nil
	defer in.close()
	out := proc.NewOutputs([]io.ReadCloser{sl.o, sl.e}, []io.Writer{req.Stdout, req.Stderr})
	sl.o, sl.e = nil, nil
	out.Start()
	sid := s.PID()
	c.MarkStarted(s.name, sid)
	// A timeout or cancel ends the command, not the shell: its processes
	// get SIGTERM, then SIGKILL after the grace, and the shell's state
	// stays. Only a shell that is still busy a grace after that (a loop of
	// builtins runs in the shell itself) is killed, state and all.
	var stuck signals.Signal
	var stuckRelease func() bool
	defer func() {
		if stuckRelease != nil {
			stuckRelease()
		}
	}()
	sup := &driver.Supervisor{
		Call: c,
		Kill: func(sig syscall.Signal) {
			kids := proc.Descendants(sid)
			for _, p := range kids {
				syscall.Kill(p, sig)
				if sig == syscall.SIGTERM {
					syscall.Kill(p, syscall.SIGCONT)
				}
			}
			if sig == syscall.SIGKILL && stuckRelease == nil {
				t, release := c.Timers.Till(c.Grace)
				stuckRelease = release
				t.Then(func() { stuck.Go() })
			}
		},
		Deliver: func(sig syscall.Signal) {
			for _, p := range proc.Descendants(sid) {
				syscall.Kill(p, sig)
			}
		},
	}
	sup.Wait(&st.done, &s.gone, &stuck)
	lost := false
	if !st.done.Fired() && !s.gone.Fired() {
		lost = true
		s.killAll(syscall.SIGKILL)
		s.gone.Wait()
	}
	// Output written before the script ended is the call's; background
	// jobs keep their FIFOs, and what they write later is not (see
	// stickyOutput).
	s.detachOutput(c, out)

	r := &driver.Result{Session: s.name, PID: sid}
	switch {
	case st.done.Fired():
		r.ExitCode = st.status
	case exitedNormally(s.exitErr):
		r.ExitCode = s.cmd.ProcessState.ExitCode()
		r.Message = "the sticky session ended: its shell exited"
	default:
		r.ExitCode, r.SessionLost = -1, true
		r.Message = fmt.Sprintf("the sticky session ended: its shell died (%v)", s.exitErr)
	}
	if lost {
		r.Message = driver.JoinMessage(r.Message, "the sticky session's shell did not stop: it was killed and its state is lost")
	}
	sup.Finish(r)
	return r, nil
}

// detachOutput ends a sticky call's output: what the pipes hold when the
// script has ended is delivered to the call; the pipes then stay open for
// the background jobs that hold them, and are read to their end so that
// those jobs never block, with what they write going to the session's log.
func (s *Shell) detachOutput(c *driver.Call, out *proc.Outputs) {
	if out.Done().Fired() {
		return
	}
	out.Detach(s.backgroundLog())
	s.mu.Lock()
	s.detached = append(s.detached, out)
	s.mu.Unlock()
}

// exitedNormally reports whether a shell that cmd.Wait returned err for
// exited (rather than died of a signal).
func exitedNormally(err error) bool {
	var ee *exec.ExitError
	return err == nil || errors.As(err, &ee) && ee.Exited()
}

// backgroundLog returns the session's log of background output.
func (s *Shell) backgroundLog() *bgLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bg == nil {
		s.bg = newBgLog(bgLogSize)
	}
	return s.bg
}
