//go:build linux

package bash

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// Run drives one call to its end.
func (s *Shell) Run(c *driver.Call) (*driver.Result, error) {
	if s.spec.Sticky {
		return s.runSticky(c)
	}
	req := c.Req
	dir, err := driver.ResolveDir(req, s.cwd)
	if err != nil {
		return nil, err
	}
	vars := s.env.Final(req, true)
	if req.TTY != nil {
		return driver.RunDirect(c, s.spec, driver.DirectCmd{Argv: shellArgv(s.spec.Shell, req), Env: s.env, Vars: vars, Dir: dir})
	}
	if len(req.Argv) > 0 && !s.internal[req.Argv[0]] && s.directOK {
		return driver.RunDirect(c, s.spec, driver.DirectCmd{Argv: req.Argv, Env: s.env, Vars: vars, Dir: dir})
	}
	return s.runSlot(c, s.newJob(req, dir, vars))
}

// shellArgv is the argv that runs a request through a fresh shell (for
// terminal calls, which need a session of their own).
func shellArgv(shell string, req *driver.Request) []string {
	if len(req.Argv) > 0 {
		return req.Argv
	}
	return []string{shell, "--noprofile", "--norc", "-c", req.Script}
}

// runSlot runs an isolated call in the next pre-forked child. The child is
// the call's process: the process group the pool kills on a timeout, and
// the process whose exit status is the call's.
func (s *Shell) runSlot(c *driver.Call, j *job) (*driver.Result, error) {
	if !s.relay.awaitSettled(c.Cancelled()) { // see sigRelay.fence
		return nil, &driver.RequestError{Kind: driver.Unavailable, Problem: c.CancelReason()}
	}
	sl, err := s.takeSlot(c)
	if err != nil {
		return nil, err
	}
	j.slot = sl.n
	code, err := encodeChecked(j)
	if err != nil {
		s.finishSlot(sl)
		return nil, err
	}
	pid := sl.pid
	exited, stopWatch := proc.WatchPidfd(sl.pidfd)
	end := watchEnd(sl)
	// The slot's descriptors and watchers go after the result, off the
	// caller's path (Close waits for that).
	s.cleanups.Add(1)
	defer func() {
		go func() {
			defer s.cleanups.Done()
			// The next child is forked after the call: a fork of bash
			// takes a processor for most of a millisecond, which the call
			// would share (the second spare serves a call that comes at
			// once).
			s.kickSpares()
			stopWatch()
			s.finishSlot(sl)
			<-end.done
		}()
	}()

	// The call is the running one before its child can see its job: a
	// signal the script sends to $$ comes back for it (see sigRelay).
	s.setRunning(pid)
	defer s.setRunning(0)
	c.MarkStarted(s.name, pid)
	out := proc.NewOutputs([]io.ReadCloser{sl.o, sl.e}, []io.Writer{c.Req.Stdout, c.Req.Stderr})
	sl.o, sl.e = nil, nil
	out.Start()

	in := newInput(sl.i, appendBlock(nil, code), c.Req.Stdin)
	sl.i = nil
	defer in.close()

	sup := &driver.Supervisor{Call: c, PGID: pid, Kill: func(sig syscall.Signal) { s.killCall(pid, sig) }}
	sup.Wait(exited, &s.gone, &end.ended)
	if end.ended.Fired() && !exited.Fired() && !sup.Killed() {
		// The script ran to its end and the child is exiting: unless it
		// left processes behind, the call is over now, a long while before
		// the kernel is done with the child (see bootIsolated).
		// The child reported just before it exits: the checks that do not
		// depend on that come first, to give it the time.
		exiting := exitingWith(pid, end.status)
		early := len(proc.ChildrenOf1(pid)) == 0 && len(s.strays()) == 0
		if early {
			s.feed.sync() // its set-up report came before
			early = sl.setup.Fired() && sl.setupFailed == ""
		}
		if early && !s.gone.Fired() {
			s.relay.fence(s.PID(), 100*time.Millisecond)
		}
		if early && (exiting || confirmExit(pid, end.status)) {
			out.Abandon() // delivers what the pipes hold: all of the child's output
			r := &driver.Result{Session: s.name, PID: pid, ExitCode: end.status}
			sup.Finish(r)
			return r, nil
		}
		sup.Wait(exited, &s.gone)
	}
	if !exited.Fired() {
		s.mirrorShellDeath(c, pid, exited)
	}
	if !s.gone.Fired() {
		// What the call sent to $$ is passed on to it, never to the next.
		s.relay.fence(s.PID(), 100*time.Millisecond)
	}
	s.endLeftovers(c, pid, out)
	// The child's set-up report was written before it exited.
	s.feed.sync()
	if sl.setupFailed != "" {
		return nil, setupFailure(sl.setupFailed, c.Req)
	}
	r := &driver.Result{Session: s.name, PID: pid}
	ws, err := proc.ExitStatus(sl.pidfd, pid)
	if !sl.setup.Fired() {
		// Killed before it could start the command (its shell died, or the
		// call was cancelled at once): a result, as the call had started.
		if err != nil || !ws.Signaled() {
			return nil, fmt.Errorf("%s: the call's process ended before its command started", s.name)
		}
		r.Message = "the call's process was killed before its command started"
	}
	switch {
	case err == nil && ws.Signaled():
		r.ExitCode, r.Signal, r.CoreDumped = -1, ws.Signal(), ws.CoreDump()
	case err == nil:
		r.ExitCode = ws.ExitStatus()
	default:
		r.ExitCode, r.SessionLost = -1, true
		r.Message = "the exit status of the call's process was lost: " + err.Error()
	}
	if s.gone.Fired() {
		r.Message = driver.JoinMessage(r.Message, "the session's shell died during the call; the session is replaced")
	}
	sup.Finish(r)
	return r, nil
}

// takeSlot waits until the next slot's child is ready, and takes it.
func (s *Shell) takeSlot(c *driver.Call) (*slot, error) {
	sl, err := s.nextSlot()
	if err != nil {
		return nil, err
	}
	if sl == nil {
		return nil, fmt.Errorf("%s: slot %d was never announced", s.name, s.next)
	}
	if err := s.awaitReady(sl, c.Cancelled()); err != nil {
		if c.Cancelled().Fired() {
			return nil, &driver.RequestError{Kind: driver.Unavailable, Problem: c.CancelReason()}
		}
		return nil, err
	}
	if sl.failed != "" {
		return nil, fmt.Errorf("%s: slot %d failed: %s", s.name, sl.n, sl.failed)
	}
	if !s.Alive() {
		// Its shell died since the last call: the scheduler moves the call
		// to another session; nothing of it has run.
		return nil, fmt.Errorf("%s: the shell has exited", s.name)
	}
	if proc.PidfdExited(sl.pidfd) {
		return nil, fmt.Errorf("%s: slot %d's child (pid %d) has died", s.name, sl.n, sl.pid)
	}
	s.mu.Lock()
	sl.used = true
	s.next++
	s.mu.Unlock()
	return sl, nil
}

// awaitReady waits until sl's child is ready, has failed or died, or the
// shell is gone, or cancel fires.
func (s *Shell) awaitReady(sl *slot, cancel *signals.Signal) error {
	if sl.ready.Fired() {
		return nil
	}
	var died *signals.Signal
	for died == nil {
		s.mu.Lock()
		fd := sl.pidfd
		s.mu.Unlock()
		if fd >= 0 {
			d, stop := proc.WatchPidfd(fd)
			defer stop()
			died = d
			break
		}
		// Not forked yet: wait for the fork report (or the rest).
		select {
		case <-sl.forked.Done():
		case <-sl.ready.Done():
			return nil
		case <-s.gone.Done():
			return fmt.Errorf("%s: the shell died before its child was ready (%v)", s.name, s.exitErr)
		case <-cancel.Done():
			return errCancelled
		}
	}
	select {
	case <-sl.ready.Done():
		return nil
	case <-died.Done():
		return fmt.Errorf("%s: slot %d's child died before it was ready", s.name, sl.n)
	case <-s.gone.Done():
		return fmt.Errorf("%s: the shell died before its child was ready (%v)", s.name, s.exitErr)
	case <-cancel.Done():
		return errCancelled
	}
}

var errCancelled = errors.New("cancelled")

// finishSlot forgets a slot whose call has ended.
func (s *Shell) finishSlot(sl *slot) {
	s.mu.Lock()
	s.dropSlot(sl)
	s.mu.Unlock()
	sl.close()
}

// runningPID is the pid of the call in progress, 0 if none.
func (s *Shell) runningPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// setRunning records the pid of the call in progress (0: none), for
// watchStop and the signal relay.
func (s *Shell) setRunning(pid int) {
	s.mu.Lock()
	s.running = pid
	s.mu.Unlock()
}

// killCall sends sig to everything the call started: its process group and
// every process below the call's process, and the processes it left to the
// shell (orphans whose own group is another). A stopped process gets
// SIGCONT after SIGTERM, or SIGTERM would wait.
func (s *Shell) killCall(pid int, sig syscall.Signal) {
	roots := append([]int{pid}, s.strays()...)
	proc.SignalGroup(pid, sig)
	proc.KillTree(sig, roots...)
	if sig == syscall.SIGTERM {
		proc.SignalGroup(pid, syscall.SIGCONT)
		proc.KillTree(syscall.SIGCONT, roots...)
	}
}

// endLeftovers ends what a call left behind once its process has ended
// (C5): if anything of it is left, SIGTERM, time to go until the output is
// complete or the kill grace passes, SIGKILL. Output that still does not
// end is held by a process that escaped; the pool stops reading it.
func (s *Shell) endLeftovers(c *driver.Call, pid int, out *proc.Outputs) {
	left := proc.SignalGroup(pid, syscall.SIGTERM)
	if strays := s.strays(); len(strays) > 0 {
		left = true
		proc.KillTree(syscall.SIGTERM, strays...)
	}
	if left {
		proc.SignalGroup(pid, syscall.SIGCONT)
		if !out.Done().Fired() {
			limit, release := c.Timers.Till(c.Grace)
			out.Done().WaitTill(limit)
			release()
		}
		s.killCall(pid, syscall.SIGKILL)
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

// mirrorShellDeath ends a call whose session shell died under it. A script
// that kills $$ kills the session's shell; as bash -c would die of that
// signal, so does the call's process. Anything else that killed the shell
// kills the call too.
func (s *Shell) mirrorShellDeath(c *driver.Call, pid int, exited *signals.Signal) {
	sig := syscall.SIGKILL
	var ee *exec.ExitError
	if errors.As(s.exitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig = ws.Signal()
		}
	}
	syscall.Kill(pid, sig)
	if sig != syscall.SIGKILL {
		syscall.Kill(pid, syscall.SIGCONT)
	}
	limit, release := c.Timers.Till(c.Grace)
	exited.WaitTill(limit)
	release()
	if !exited.Fired() {
		syscall.Kill(pid, syscall.SIGKILL)
		exited.Wait()
	}
}

// setupFailure turns a child's report that it could not set the call up
// into the caller's error.
func setupFailure(what string, req *driver.Request) error {
	if what == "cwd" {
		field, dir := "cwd", req.Dir
		if dir == "" {
			field, dir = "base_cwd", req.BaseDir
		}
		return &driver.RequestError{Field: field, Kind: driver.NotFound, Problem: fmt.Sprintf("cannot change to directory %q", dir)}
	}
	return fmt.Errorf("call setup failed: %s", what)
}
