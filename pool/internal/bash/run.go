//go:build linux

package bash

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
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
	sl, err := s.takeSlot(c)
	if err != nil {
		return nil, err
	}
	pid := sl.pid
	exited, stopWatch := proc.WatchPidfd(sl.pidfd)
	rep := readChildReports(sl.r)
	sl.r = nil
	early := false
	defer func() {
		stopWatch()
		if early {
			s.verifyExit(sl, rep)
		} else {
			s.finishSlot(sl)
		}
	}()

	in := newInput(sl.i, appendBlock(nil, encodeJob(j)), c.Req.Stdin)
	sl.i = nil
	defer in.close()
	s.setRunning(pid)
	defer s.setRunning(0)
	c.MarkStarted(s.name, pid)
	// The next child is forked after the wake-up, off the caller's path.
	s.kickSpares()

	out := proc.NewOutputs([]io.ReadCloser{sl.o, sl.e}, []io.Writer{c.Req.Stdout, c.Req.Stderr})
	sl.o, sl.e = nil, nil
	out.Start()

	sup := &driver.Supervisor{Call: c, PGID: pid, Kill: func(sig syscall.Signal) { s.killCall(pid, sig) }}
	sup.Wait(exited, &s.gone, &rep.ended)
	if rep.ended.Fired() && !exited.Fired() && !sup.Killed() {
		// The script ran to its end: unless it left an EXIT trap or
		// processes behind, the call is over now (see protocol.go).
		if rep.trap == "" && len(proc.ChildrenOf1(pid)) == 0 && len(s.strays()) == 0 {
			early = true
			out.Abandon() // delivers what the pipes hold: all of the child's output
			r := &driver.Result{Session: s.name, PID: pid, ExitCode: rep.status}
			sup.Finish(r)
			return r, nil
		}
		sup.Wait(exited, &s.gone)
	}
	if !exited.Fired() {
		s.mirrorShellDeath(c, pid, exited)
	}
	s.endLeftovers(c, pid, out)
	rep.wait()
	if rep.failed != "" {
		return nil, setupFailure(rep.failed, c.Req)
	}
	r := &driver.Result{Session: s.name, PID: pid}
	ws, err := proc.ExitStatus(sl.pidfd, pid)
	if !rep.setup.Fired() {
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

// verifyExit follows a call that ended at its child's "ended" report: the
// child exits a moment later, and the kernel's exit status must be the one
// the child reported. A mismatch (a script that wrote a report of its own,
// or a bug) is logged, and the session is retired. It runs off the caller's
// path and forgets the slot at the end.
func (s *Shell) verifyExit(sl *slot, rep *childReports) {
	s.mu.Lock()
	s.exiting[sl.pid] = true
	delete(s.slots, sl.n) // the verifier owns it now (Close waits for it)
	s.mu.Unlock()
	s.verifiers.Add(1)
	go func() {
		defer s.verifiers.Done()
		defer func() {
			s.mu.Lock()
			delete(s.exiting, sl.pid)
			s.mu.Unlock()
			sl.close()
		}()
		exited, stop := proc.WatchPidfd(sl.pidfd)
		defer stop()
		limit, release := signals.After(10 * time.Second)
		defer release()
		select {
		case <-exited.Done():
		case <-limit.Done():
			syscall.Kill(sl.pid, syscall.SIGKILL)
			exited.Wait()
		}
		ws, err := proc.ExitStatus(sl.pidfd, sl.pid)
		if err == nil && (ws.Signaled() || ws.ExitStatus() != rep.status) {
			s.violation(fmt.Sprintf("call process %d reported status %d but its exit status is %v", sl.pid, rep.status, ws))
		}
	}()
}

// takeSlot waits until the next slot's child is ready, and takes it.
func (s *Shell) takeSlot(c *driver.Call) (*slot, error) {
	s.mu.Lock()
	sl := s.slots[s.next]
	s.mu.Unlock()
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
	delete(s.slots, sl.n)
	s.mu.Unlock()
	sl.close()
}

// setRunning records the pid of the call in progress (0: none), for
// watchStop.
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

// strays returns the shell's children that are neither idle children nor
// the call's process: what calls left behind that outlived their parents
// (the shell is a subreaper, so they are reparented to it). Without a
// launcher the shell is no subreaper, and strays are found by session id.
//
// A child forked for a later call is the shell's child a moment before the
// pool hears of it. The usual case costs one read: when the shell has no
// more children than idle ones and ones being forked, there is no stray;
// only otherwise does strays wait for the forks to be reported, to tell
// them apart.
func (s *Shell) strays() []int {
	keep := map[int]bool{}
	s.mu.Lock()
	var pending []*signals.Signal
	for _, sl := range s.slots {
		switch {
		case sl.used:
		case sl.pid > 0:
			keep[sl.pid] = true
		default:
			pending = append(pending, &sl.forked)
		}
	}
	for p := range s.exiting {
		keep[p] = true
	}
	s.mu.Unlock()
	if s.tree {
		extra := 0
		for _, p := range proc.ChildrenOf1(s.PID()) {
			if !keep[p] {
				extra++
			}
		}
		if extra <= len(pending) {
			return nil
		}
	}
	if len(pending) > 0 {
		// A child being forked for a later call is the shell's child
		// before its fork report arrives: wait for the report (it follows
		// the fork at once), so as not to take it for a leftover.
		select {
		case <-signals.And(pending...).Done():
		case <-s.gone.Done():
		}
		s.mu.Lock()
		for _, sl := range s.slots {
			if !sl.used && sl.pid > 0 {
				keep[sl.pid] = true
			}
		}
		s.mu.Unlock()
	}
	var kids []int
	if s.tree {
		kids = proc.Children(s.PID())
	} else {
		kids = proc.SessionMembers(s.PID())
	}
	out := kids[:0]
	for _, p := range kids {
		if !keep[p] && p != s.PID() {
			out = append(out, p)
		}
	}
	return out
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

// childReports reads what a child writes on its report FIFO (see
// protocol.go).
type childReports struct {
	setup  signals.Signal // "s" or "f" came
	failed string         // the reason of "f"
	ended  signals.Signal // the script ran to its end
	trap   string         // its EXIT trap, if it set one
	status int            // its status
	done   chan struct{}  // the reader is done
}

// readChildReports starts reading f (the reader owns it). It reads to the
// end of the FIFO whatever comes, so that nothing written there can block
// or kill the child; "ended" counts only if what followed the set-up report
// is exactly one well-formed end report.
func readChildReports(f *os.File) *childReports {
	rep := &childReports{done: make(chan struct{})}
	go func() {
		defer close(rep.done)
		defer f.Close()
		br := bufio.NewReaderSize(f, 512)
		line, err := br.ReadString('\n')
		switch {
		case err != nil:
		case line == "s\n":
			rep.setup.Go()
			rep.readEnd(br)
		case strings.HasPrefix(line, "f "):
			rep.failed = strings.TrimSpace(line[2:])
			rep.setup.Go()
		}
		io.Copy(io.Discard, br)
	}()
	return rep
}

// readEnd reads the end report: `trap -p EXIT` (no NUL in it), NUL, the
// status and a newline, with nothing before it but a trap's text.
func (rep *childReports) readEnd(br *bufio.Reader) {
	const most = 64 << 10
	var b []byte
	for len(b) < most {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
		trap, st, ok := bytes.Cut(b, []byte{0})
		if !ok {
			continue // a trap's text of several lines
		}
		n, err := strconv.Atoi(string(bytes.TrimSuffix(st, []byte("\n"))))
		if err != nil || n < 0 || n > 255 || bytes.IndexByte(st, 0) >= 0 {
			return
		}
		rep.trap, rep.status = string(trap), n
		rep.ended.Go()
		return
	}
}

// wait waits for the reader to end (the child has exited, or its FIFO was
// closed).
func (rep *childReports) wait() { <-rep.done }
