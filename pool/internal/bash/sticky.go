//go:build linux

package bash

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// stickyCalls tracks the one call a sticky session's shell runs at a time.
type stickyCalls struct {
	slot        int // the call in progress, or 0
	started     signals.Signal
	done        signals.Signal // its script ended, or its line was discarded
	fenced      signals.Signal // its fence report came: the shell reads on
	status      int
	failed      string
	interrupted bool       // the line was discarded (an interrupt)
	stdin       *openInput // the call's open stdin (OpenStdin), for Input
}

// route applies a sticky report for the call in progress; a report for any
// other call is a protocol violation. Call with the shell's mu held.
func (st *stickyCalls) route(r report) error {
	if r.slot != st.slot || st.fenced.Fired() {
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
	case 'z':
		if !st.done.Fired() {
			st.status, st.interrupted = r.status, true
			st.started.Go()
			st.done.Go()
		}
		st.fenced.Go()
	}
	return nil
}

// runSticky runs a call in the sticky session's shell itself, so that what
// it changes stays for the next call. The session's directory and
// environment change only when the call says so (Dir, Env); its base
// directory and environment applied when the session was created.
//
// A timeout, a cancel or an interrupt ends the command, not the shell: ^C
// on the shell's terminal interrupts the foreground job, and the shell
// discards the rest of the call's command line, as a terminal's shell does;
// after the grace the foreground job gets SIGTERM, then SIGKILL. Only a
// shell still busy a grace after that (a loop of builtins runs in the shell
// itself) is killed, and its state with it.
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
	sl, n, err := s.stickySlot()
	if err != nil {
		return nil, err
	}
	// The slot goes, and the next call's is made, after the result.
	s.cleanups.Add(1)
	defer func() {
		go func() {
			defer s.cleanups.Done()
			sl.close()
			s.prepareSticky()
		}()
	}()
	j := &job{sticky: true, fifoPrefix: sl.prefix, stdin: req.Stdin != nil || req.OpenStdin, dir: dir}
	j.set = driver.Environ(driver.EnvMap(req.Env))
	if len(req.Argv) > 0 {
		j.script = argvScript(req.Argv)
	} else {
		j.script = req.Script
	}
	st := &stickyCalls{slot: n}
	s.mu.Lock()
	s.sticky = st
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.sticky = nil
		if !st.fenced.Fired() {
			s.unfenced = st
		}
		s.mu.Unlock()
	}()
	code, err := encodeChecked(j)
	if err != nil {
		return nil, err
	}
	if err := s.send(stickyCall(n, code)); err != nil {
		return nil, err
	}
	select {
	case <-st.started.Done():
	case <-s.gone.Done():
		return nil, fmt.Errorf("%s: the sticky session's shell has exited (%v)", s.name, s.exitErr)
	}
	sl.unlink()
	if st.failed != "" {
		s.awaitFence(st)
		return nil, setupFailure(st.failed, req)
	}
	in := sl.i
	sl.i = nil
	switch {
	case req.Stdin != nil:
		in := newInput(in, nil, req.Stdin)
		defer in.close()
	case req.OpenStdin:
		s.mu.Lock()
		st.stdin = &openInput{f: in}
		s.mu.Unlock()
		defer in.Close()
	default:
		in.Close()
	}
	out := proc.NewOutputs([]io.ReadCloser{sl.o, sl.e}, []io.Writer{req.Stdout, req.Stderr})
	sl.o, sl.e = nil, nil
	out.Start()
	sid := s.PID()
	c.MarkStarted(s.name, sid)

	var stuck signals.Signal
	esc := &escalation{s: s, c: c, st: st, stuck: &stuck}
	defer esc.release()
	sup := &driver.Supervisor{Call: c, Kill: esc.kill, Deliver: func(sig syscall.Signal) { s.deliver(c, st, sig) }}
	sup.Wait(&st.done, &s.gone, &stuck)
	lost := false
	if !st.done.Fired() && !s.gone.Fired() {
		lost = true
		s.killAll(syscall.SIGKILL)
		s.gone.Wait()
	}
	if st.done.Fired() && st.interrupted {
		s.awaitFence(st)
	}
	// Output written before the script ended is the call's; background
	// jobs keep their FIFOs, and what they write later goes to the
	// session's log.
	s.detachOutput(out)

	r := &driver.Result{Session: s.name, PID: sid}
	switch {
	case st.done.Fired():
		r.ExitCode = st.status
		r.Interrupted = st.interrupted
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

// stickySlot takes the slot that prepareSticky made for the next call, or
// makes one, and numbers it.
func (s *Shell) stickySlot() (*slot, int, error) {
	s.mu.Lock()
	n := s.next
	s.next++
	sl := s.stickyNext
	s.stickyNext = nil
	s.mu.Unlock()
	if sl == nil {
		var err error
		if sl, err = newSlot(s.dir, n); err != nil {
			return nil, 0, err
		}
	} else if err := os.Chmod(sl.hidden, 0o700); err != nil {
		sl.close()
		return nil, 0, fmt.Errorf("slot %d: %w", n, err)
	}
	sl.n = n
	return sl, n, nil
}

// prepareSticky makes the next sticky call's slot while the session is
// idle: making and opening three FIFOs takes longer than the call of a
// builtin. A failure is left for the call, which tries again and reports it.
//
// The slot's FIFOs wait in a directory of their own with no permissions,
// so that no process of the session's user opens them by chance before the
// shell does: it needs to chmod the directory first (the same user is no
// boundary, see README). The call that takes the slot opens the directory.
func (s *Shell) prepareSticky() {
	hidden, err := os.MkdirTemp(s.dir, "next-")
	if err != nil {
		return
	}
	sl, err := newSlot(hidden, 0)
	if err == nil {
		err = os.Chmod(hidden, 0)
	}
	if err != nil {
		if sl != nil {
			sl.close()
		}
		os.Remove(hidden)
		return
	}
	sl.hidden = hidden
	s.mu.Lock()
	if s.stickyNext == nil && !s.closing {
		s.stickyNext, sl = sl, nil
	}
	s.mu.Unlock()
	if sl != nil {
		sl.close()
	}
}

// awaitFence waits for the fence of the call in progress. A call whose
// script ran to its end (its "d" report) need not wait: the rest of its
// line has run, and the shell reads its fence before the next call's line,
// whenever that comes (see Shell.unfenced).
func (s *Shell) awaitFence(st *stickyCalls) {
	select {
	case <-st.fenced.Done():
	case <-s.gone.Done():
	}
}

// escalation is how a sticky call's command is stopped (see runSticky):
// kill(SIGTERM) from the supervisor is the interrupt, kill(SIGKILL) after
// the grace starts SIGTERM, then SIGKILL, to the foreground job, and a
// grace after that fires stuck.
type escalation struct {
	s        *Shell
	st       *stickyCalls
	c        *driver.Call
	stuck    *signals.Signal
	releases []func() bool
}

func (e *escalation) kill(sig syscall.Signal) {
	if sig != syscall.SIGKILL {
		e.s.interrupt(e.c, &e.st.done)
		return
	}
	e.s.signalForeground(syscall.SIGTERM)
	e.after(func() {
		e.s.signalForeground(syscall.SIGKILL)
		e.after(func() { e.stuck.Go() })
	})
}

func (e *escalation) after(f func()) {
	t, release := e.c.Timers.Till(e.c.Grace)
	e.releases = append(e.releases, release)
	t.Then(f)
}

func (e *escalation) release() {
	for _, r := range e.releases {
		r()
	}
}

// interrupt interrupts the command in progress as ^C on a terminal does:
// SIGINT to the terminal's foreground job, upon which bash discards the
// rest of the command line. While the shell itself is in the foreground
// (between commands, or running builtins) there is no job to interrupt:
// interrupt keeps trying until one runs, the call ends, or its grace has
// passed (a loop of builtins is then the escalation's to end).
func (s *Shell) interrupt(c *driver.Call, done *signals.Signal) {
	sid := s.PID()
	if pg := proc.ForegroundGroup(sid); pg > 1 && pg != sid && proc.SignalGroup(pg, syscall.SIGINT) {
		return
	}
	go func() {
		limit, release := c.Timers.Till(c.Grace)
		defer release()
		for {
			if pg := proc.ForegroundGroup(sid); pg > 1 && pg != sid && proc.SignalGroup(pg, syscall.SIGINT) {
				return
			}
			tick, stop := c.Timers.Till(10 * time.Millisecond)
			select {
			case <-tick.Done():
			case <-limit.Done():
			case <-done.Done():
			case <-s.gone.Done():
			}
			stop()
			if limit.Fired() || done.Fired() || s.gone.Fired() {
				return
			}
		}
	}()
}

// signalForeground sends sig to the foreground job of the shell's terminal
// (and SIGCONT after SIGTERM), unless that is the shell itself.
func (s *Shell) signalForeground(sig syscall.Signal) {
	pg := proc.ForegroundGroup(s.PID())
	if pg <= 1 || pg == s.PID() {
		return
	}
	proc.SignalGroup(pg, sig)
	if sig == syscall.SIGTERM {
		proc.SignalGroup(pg, syscall.SIGCONT)
	}
}

// deliver passes a caller's signal to the running command: SIGINT as an
// interrupt (see interrupt), anything else to the foreground job.
func (s *Shell) deliver(c *driver.Call, st *stickyCalls, sig syscall.Signal) {
	if sig == syscall.SIGINT {
		s.interrupt(c, &st.done)
		return
	}
	s.signalForeground(sig)
}

// detachOutput ends a sticky call's output: what the pipes hold when the
// script has ended is delivered to the call; the pipes then stay open for
// the background jobs that hold them, and are read to their end so that
// those jobs never block, with what they write going to the session's log.
func (s *Shell) detachOutput(out *proc.Outputs) {
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
