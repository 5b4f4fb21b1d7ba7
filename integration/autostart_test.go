//go:build linux

package integration

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
)

// exitIdleBound is how long an auto-started daemon with --exit-idle 2s may
// take to go away.
const exitIdleBound = 20 * time.Second

// TestAutostart runs exec with no daemon: it starts one detached (a session
// of its own, outliving the CLI, logging next to the socket, with
// --exit-idle) and runs the command on it.
func TestAutostart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.stopOnCleanup()
	r := e.run("exec", "--", "echo", "hello").want(t, 0)
	if r.stdout != "hello\n" {
		t.Errorf("stdout %q, want \"hello\\n\"", r.stdout)
	}
	s := e.status()
	if exited(s.PID) {
		t.Fatalf("the auto-started daemon (pid %d) did not outlive the CLI", s.PID)
	}
	if sid := procSession(s.PID); sid != s.PID {
		t.Errorf("the auto-started daemon is in session %d, want its own (%d)", sid, s.PID)
	}
	args := procArgs(s.PID)
	if i := slices.Index(args, "--exit-idle"); i < 0 || i+1 >= len(args) || args[i+1] != "10m0s" {
		t.Errorf("the auto-started daemon runs as %q, want --exit-idle 10m0s", args)
	}
	log, err := os.ReadFile(e.socket + ".log")
	if err != nil {
		t.Errorf("no log next to the socket: %v", err)
	} else if !strings.Contains(string(log), "msg=serving") {
		t.Errorf("the log %s.log does not say it serves:\n%s", e.socket, log)
	}
	// The next call uses the same daemon.
	e.run("exec", "--", "true").want(t, 0)
	if again := e.status(); again.PID != s.PID {
		t.Errorf("second call: daemon pid %d, want the same %d", again.PID, s.PID)
	}
}

// TestAutostartExitIdle: an auto-started daemon goes away by itself after
// its --exit-idle (here 2s through MOTHREADS_EXIT_IDLE) without calls, and
// removes its socket.
func TestAutostartExitIdle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.stopOnCleanup()
	cmd := e.cli([]string{"exec", "--", "true"}, "MOTHREADS_EXIT_IDLE=2s")
	e.runCmd(cmd).want(t, 0)
	// Found by its marker, not by status: a status call could come after
	// the daemon has left already.
	daemons := e.markedDaemons()
	if len(daemons) != 1 {
		t.Fatalf("daemons after the auto-start: %v, want one", daemons)
	}
	if !proctest.WaitGone(daemons[0], exitIdleBound) {
		t.Fatalf("the auto-started daemon (pid %d) still runs %v after its last call, with --exit-idle 2s", daemons[0], exitIdleBound)
	}
	e.socketGone()
	log, _ := os.ReadFile(e.socket + ".log")
	if !strings.Contains(string(log), "shutdown complete") {
		t.Errorf("the log does not end with an ordered shutdown:\n%s", log)
	}
}

// TestAutostartOverStaleSocket: a socket file left by a dead daemon does
// not stop exec from starting a new one.
func TestAutostartOverStaleSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.stopOnCleanup()
	e.staleSocket()
	if r := e.run("exec", "--", "echo", "fresh").want(t, 0); r.stdout != "fresh\n" {
		t.Errorf("stdout %q", r.stdout)
	}
}

// TestAutostartRace starts several CLIs at once with no daemon: each may
// start one, and in the end exactly one serves, every call succeeds, and
// the daemons that lost the race are gone.
func TestAutostartRace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.stopOnCleanup()
	const n = 6
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := e.cli([]string{"exec", "--", "echo", fmt.Sprint("call ", i)})
		wg.Go(func() { results[i] = e.runCmd(cmd) })
	}
	wg.Wait()
	for i, r := range results {
		r.want(t, 0)
		if want := fmt.Sprint("call ", i, "\n"); r.stdout != want {
			t.Errorf("CLI %d: stdout %q, want %q", i, r.stdout, want)
		}
	}
	s := e.status()
	for _, pid := range e.markedDaemons() {
		if pid != s.PID && !proctest.WaitGone(pid, daemonStopBound) {
			t.Errorf("a second daemon (pid %d, %q) still runs beside the serving one (%d)", pid, procArgs(pid), s.PID)
		}
	}
	if d := e.markedDaemons(); len(d) != 1 || d[0] != s.PID {
		t.Errorf("daemons running: %v, want only the serving one %d", d, s.PID)
	}
	e.run("exec", "--", "true").want(t, 0)
}
