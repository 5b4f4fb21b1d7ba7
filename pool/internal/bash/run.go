//go:build linux

package bash

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// Run drives one call on the shell to its end: in the session's shell
// itself for a sticky session, else spawned directly (a terminal, or an
// external program when the init script left umask and limits alone), else
// in the next pre-forked child.
func (s *Shell) Run(c *driver.Call) (*driver.Result, error) {
	if s.spec.Sticky {
		return s.runSticky(c)
	}
	dir, err := driver.ResolveDir(c.Req, s.cwd)
	if err != nil {
		return nil, err
	}
	env := s.env.Final(c.Req, true)
	if c.Req.TTY != nil {
		return driver.RunDirect(c, s.spec, driver.DirectCmd{Argv: shellArgv(s.spec.Shell, c.Req), Env: s.env, Vars: env, Dir: dir})
	}
	if len(c.Req.Argv) > 0 && !s.internal[c.Req.Argv[0]] && s.directOK {
		return driver.RunDirect(c, s.spec, driver.DirectCmd{Argv: c.Req.Argv, Env: s.env, Vars: env, Dir: dir})
	}
	return s.runSlot(c, env, dir)
}

// shellArgv is the argv that runs a request through a fresh shell (for
// terminal calls, which need a session of their own).
func shellArgv(shell string, req *driver.Request) []string {
	if len(req.Argv) > 0 {
		return req.Argv
	}
	return []string{shell, "--noprofile", "--norc", "-c", req.Script}
}

// runSlot runs the call in the session's next pre-forked child.
func (s *Shell) runSlot(c *driver.Call, env map[string]string, dir string) (*driver.Result, error) {
	s.mu.Lock()
	sl := s.slots[s.next]
	s.mu.Unlock()
	if sl == nil {
		return nil, fmt.Errorf("%s: slot %d was never announced", s.spec.Name, s.next)
	}
	if !sl.ready.WaitTill(signals.Or(&s.gone, c.Cancelled())) {
		if c.Cancelled().Fired() {
			return nil, &driver.RequestError{Kind: driver.Unavailable, Problem: c.CancelReason()}
		}
		return nil, fmt.Errorf("%s: the shell died before it was ready (%v)", s.spec.Name, s.exitErr)
	}
	if sl.failed != "" {
		return nil, fmt.Errorf("%s: slot %d failed: %s", s.spec.Name, sl.n, sl.failed)
	}
	if !s.Alive() {
		// Its shell died since the last call (which may have killed it): the
		// pool moves the call to another session.
		return nil, fmt.Errorf("%s: the shell has exited", s.spec.Name)
	}
	s.mu.Lock()
	delete(s.slots, sl.n)
	s.running[sl.n] = sl
	s.next++
	s.mu.Unlock()
	defer sl.close()
	var err error

	var stdin, stdinKeep *os.File
	if c.Req.Stdin != nil {
		if stdin, stdinKeep, err = stdinPipe(); err != nil {
			return nil, err
		}
		defer stdinKeep.Close()
	}
	if err := sl.writeJob(s.job(c.Req, env, dir, stdinKeep)); err != nil {
		return nil, err
	}

	out := proc.StartPumps(sl.o, sl.e, c.Req.Stdout, c.Req.Stderr)
	sl.o, sl.e = nil, nil
	st := readCallStatus(sl.s)
	if err := sl.wake(); err != nil {
		return nil, fmt.Errorf("%s: waking slot %d: %w", s.spec.Name, sl.n, err)
	}
	c.MarkStarted(s.spec.Name, sl.pid)
	// The next slots are made after the wake-up, off the caller's path; the
	// shell waits for their numbers before forking their children.
	s.mu.Lock()
	err = s.announceSlots()
	s.mu.Unlock()
	if err != nil {
		s.log.Error("announcing slots", "err", err)
		s.cmd.Process.Kill()
	}
	if stdin != nil {
		go proc.PumpIn(stdin, c.Req.Stdin)
	}

	sup := &driver.Supervisor{Call: c, PGID: sl.pid}
	sup.Wait(&sl.exited, &st.done, &s.gone)
	if s.gone.Fired() && !sl.exited.Fired() && !st.done.Fired() {
		// The shell died under the call: the command killed it (`kill $$`),
		// or someone else did. The child lives on, orphaned, and may finish
		// the command: it gets the kill grace to do so, watched through a
		// pidfd, then its group is killed.
		if ended, stop := proc.WatchProcess(sl.pid); ended != nil {
			grace, release := c.Timers.Till(c.Grace)
			sup.Wait(ended, &st.done, grace)
			release()
			if !ended.Fired() && !st.done.Fired() {
				proc.SignalGroup(sl.pid, syscall.SIGKILL)
				ended.Wait()
			}
			stop()
		}
	}
	driver.FinishGroup(sl.pid, out, c)
	if !st.done.Fired() {
		// The child's exit report, if any, is in its status pipe; its writers
		// are gone now, so EOF is near unless something escaped the group.
		limit, release := c.Timers.Till(c.Grace)
		st.eof.WaitTill(limit)
		release()
	}
	sl.s.Close()
	st.wg.Wait()

	if st.failed != "" {
		return nil, setupFailure(st.failed, c.Req)
	}
	r := &driver.Result{Session: s.spec.Name, PID: sl.pid}
	switch {
	case st.done.Fired():
		r.ExitCode = st.rc
		if !s.Alive() {
			r.Message = "the session's shell died during the call; the session is replaced"
		}
	case sl.exited.Fired():
		r.ExitCode, r.Signal = decodeStatus(sl.rc, st.exit)
	case st.exit >= 0:
		// No status from the dead shell; the child's own exit report.
		r.ExitCode = st.exit
		r.Message = "the session's shell died during the call; the status is the command's own report"
	default:
		r.ExitCode, r.SessionLost = -1, true
		r.Message = fmt.Sprintf("the session's shell died during the call (%v)", s.exitErr)
	}
	sup.Finish(r)
	return r, nil
}

// job encodes a call for the child: NUL-terminated fields, which the
// child's code in the isolated mode of session.bash reads with mapfile,
// NUL as the delimiter (its comment there lists the fields).
func (s *Shell) job(req *driver.Request, env map[string]string, dir string, stdin *os.File) []byte {
	kind := "s"
	payload := []string{req.Script}
	if len(req.Argv) > 0 {
		kind, payload = "x", req.Argv
		if s.internal[req.Argv[0]] {
			kind = "a"
		}
	}
	if dir == s.cwd {
		dir = ""
	}
	in := ""
	if stdin != nil {
		in = strconv.Itoa(fdOf(stdin))
	}
	unset, set := s.env.Ops(env)
	var b []byte
	field := func(v string) { b = append(append(b, v...), 0) }
	field(kind)
	field(dir)
	field(in)
	field(strconv.Itoa(len(unset)))
	for _, k := range unset {
		field(k)
	}
	field(strconv.Itoa(len(set)))
	for _, kv := range set {
		field(kv)
	}
	for _, p := range payload {
		field(p)
	}
	return b
}

// callStatus is what a child reports on its private status pipe: "done RC"
// when the command finished normally (the call ends there, before the child
// has even exited), "exit RC" from its exit trap when it ended through exit,
// errexit or a fatal signal, or "fail N what" when it could not set the call
// up.
type callStatus struct {
	done   signals.Signal
	rc     int
	exit   int // -1: no exit report
	failed string
	eof    signals.Signal
	wg     sync.WaitGroup
}

func readCallStatus(f *os.File) *callStatus {
	st := &callStatus{exit: -1}
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		defer st.eof.Go()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			switch {
			case len(fields) == 2 && fields[0] == "exit" && st.exit < 0:
				st.exit, _ = strconv.Atoi(fields[1])
			case len(fields) == 2 && fields[0] == "done" && !st.done.Fired():
				if rc, err := strconv.Atoi(fields[1]); err == nil {
					st.rc = rc
					st.done.Go()
				}
			case len(fields) >= 3 && fields[0] == "fail" && !st.done.Fired():
				st.failed = fields[2]
				st.done.Go()
			}
		}
	}()
	return st
}

// setupFailure turns a child's "fail" report into the caller's error.
func setupFailure(what string, req *driver.Request) error {
	switch what {
	case "cwd":
		field, dir := "cwd", req.Dir
		if dir == "" {
			field, dir = "base_cwd", req.BaseDir
		}
		return &driver.RequestError{Field: field, Kind: driver.NotFound, Problem: fmt.Sprintf("cannot change to directory %q", dir)}
	case "stdin":
		return errors.New("call setup failed: the command's input could not be opened")
	}
	return fmt.Errorf("call setup failed: %s", what)
}

// decodeStatus turns the shell's view of a child's end into an exit code or
// a signal. The shell's $? is 128+N both for death by signal N and for
// `exit 128+N`. The child's exit trap reports the status it exits with; a
// child killed by a signal either runs no trap (SIGKILL) or runs it with the
// status of its last command, which is not 128+N unless that command also
// ended so. So: a report equal to rc means an exit; anything else above 128
// means a signal. (A command that replaces the exit trap loses the report,
// and its exits with 129..192 read as signals.)
func decodeStatus(rc, exitReport int) (int, syscall.Signal) {
	if rc <= 128 || rc > 128+64 || exitReport == rc {
		return rc, 0
	}
	return -1, syscall.Signal(rc - 128)
}
