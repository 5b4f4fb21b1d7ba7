//go:build linux

package bash

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// stickyState tracks the calls of a sticky session, whose commands run in
// the session's shell itself, so that state persists from call to call.
type stickyState struct {
	mu    sync.Mutex
	calls map[int]*stickyCall
}

type stickyCall struct {
	started signals.Signal
	done    signals.Signal
	rc      int
	failed  string
}

func (st *stickyState) get(n int) *stickyCall {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.calls == nil {
		st.calls = map[int]*stickyCall{}
	}
	sc := st.calls[n]
	if sc == nil {
		sc = &stickyCall{}
		st.calls[n] = sc
	}
	return sc
}

func (st *stickyState) drop(n int) {
	st.mu.Lock()
	delete(st.calls, n)
	st.mu.Unlock()
}

// event routes "start N", "done N RC" and "fail N what" lines.
func (st *stickyState) event(line string) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return
	}
	sc := st.get(n)
	switch f[0] {
	case "start":
		sc.started.Go()
	case "done":
		if len(f) > 2 {
			sc.rc, _ = strconv.Atoi(f[2])
		}
		sc.started.Go()
		sc.done.Go()
	case "fail":
		if len(f) > 2 {
			sc.failed = f[2]
		}
		sc.started.Go()
		sc.done.Go()
	}
}

// runSticky runs a call in the sticky session's own shell. The session's
// directory and environment change only when the call says so explicitly
// (Dir, Env); its base directory and environment applied when the session
// was created. A timeout or cancel kills the whole session: its state is
// lost, and the result says so.
func (s *Shell) runSticky(c *driver.Call) (*driver.Result, error) {
	s.mu.Lock()
	n := s.next
	s.next++
	s.mu.Unlock()
	sl, err := newSlot(n)
	if err != nil {
		return nil, err
	}
	defer sl.close()

	dir := ""
	if c.Req.Dir != "" {
		if dir, err = driver.ResolveDir(&driver.Request{Dir: c.Req.Dir}, s.cwd); err != nil {
			return nil, err
		}
	}
	var stdin, stdinKeep *os.File
	inFD := 0
	if c.Req.Stdin != nil {
		if stdin, stdinKeep, err = stdinPipe(); err != nil {
			return nil, err
		}
		defer stdinKeep.Close()
		inFD = fdOf(stdinKeep)
	}
	set := envMapList(c.Req.Env)
	kind, payload := "s", []string{c.Req.Script}
	if len(c.Req.Argv) > 0 {
		kind, payload = "a", c.Req.Argv
	}
	var b []byte
	field := func(v string) { b = append(append(b, v...), 0) }
	field(kind)
	field(dir)
	field("")
	field("0")
	field(strconv.Itoa(len(set)))
	for _, kv := range set {
		field(kv)
	}
	for _, p := range payload {
		field(p)
	}
	if err := sl.writeJob(b); err != nil {
		return nil, err
	}

	sc := s.sticky.get(n)
	defer s.sticky.drop(n)
	line := fmt.Appendf(nil, "%d %d %d %d %d\n", n, fdOf(sl.o), fdOf(sl.e), fdOf(sl.j), inFD)
	if _, err := s.control.Write(line); err != nil {
		return nil, fmt.Errorf("%s: control pipe: %w", s.spec.Name, err)
	}
	if !sc.started.WaitTill(&s.gone) {
		return nil, fmt.Errorf("%s: the sticky session's shell has exited (%v)", s.spec.Name, s.exitErr)
	}
	if sc.failed != "" {
		return nil, setupFailure(sc.failed, c.Req)
	}
	// The shell opened the output pipes before "start"; reading before that
	// would see end of file.
	out := proc.StartPumps(sl.o, sl.e, c.Req.Stdout, c.Req.Stderr)
	sl.o, sl.e = nil, nil
	c.MarkStarted(s.spec.Name, 0)
	if stdin != nil {
		go proc.PumpIn(stdin, c.Req.Stdin)
	}
	sid := s.PID()
	sup := &driver.Supervisor{
		Call: c,
		Kill: func(sig syscall.Signal) {
			proc.KillSession(sid, sig)
		},
		Deliver: func(sig syscall.Signal) {
			for _, pid := range proc.SessionMembers(sid) {
				if pid != sid {
					syscall.Kill(pid, sig)
				}
			}
		},
	}
	sup.Wait(&sc.done, &s.gone)
	limit, release := c.Timers.Till(c.Grace)
	if !out.Done().WaitTill(limit) {
		out.Abandon()
	}
	release()

	r := &driver.Result{Session: s.spec.Name, PID: sid}
	switch {
	case sc.done.Fired():
		r.ExitCode = sc.rc
	case s.exitErr == nil || isExit(s.exitErr):
		r.ExitCode = exitCode(s.exitErr)
		r.Message = "the sticky session ended: its shell exited"
	default:
		r.ExitCode, r.SessionLost = -1, true
		r.Message = fmt.Sprintf("the sticky session ended: its shell died (%v)", s.exitErr)
	}
	if sup.Killed() {
		r.Message = driver.JoinMessage(r.Message, "the sticky session was killed and its state is lost")
	}
	sup.Finish(r)
	return r, nil
}

// envMapList returns the valid KEY=VALUE entries of list, sorted, a later
// entry winning.
func envMapList(list []string) []string { return driver.Environ(driver.EnvMap(list)) }

func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.Exited()
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return 0
}
