//go:build linux

package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/internal/proctest"
)

// TestFaultSessionShellKilledMidCall kills -9 the session shell that runs a
// call (C7): the call ends with a clear "session lost" result, its command
// dies with the session, the next call works, and Status shows that the
// session was replaced.
func TestFaultSessionShellKilledMidCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Two sessions at most, both kept idle when they can be: with one busy
	// the pool is full, so once the busy one dies the pool must start
	// another to get back to its idle target. With --min-idle 1 the
	// surviving idle session already met the target, and whether a
	// replacement was spawned depended on when the pool had started its
	// second session (CI, 1 run in many).
	d := e.startDaemon([]string{"--max-sessions", "2", "--min-idle", "2"})
	c := e.dial(t)
	call := proctest.NewMarker()
	out := newSignalWriter("started\n")
	p, err := c.Start(context.Background(), &client.Request{
		Script: "echo started; sleep 300; echo not reached",
		Env:    []string{"MTI_CALL=" + call},
	}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.waitSeen(t, cliBound)
	// The call's parent is the session's forker subshell, whose parent is
	// the session shell, a child of the daemon.
	forker := parentOf(p.PID)
	shell := parentOf(forker)
	if forker == 0 || shell == 0 || parentOf(shell) != d.pid() {
		t.Fatalf("call %d: grandparent %d (through %d) is not a session shell of daemon %d (its parent is %d)",
			p.PID, shell, forker, d.pid(), parentOf(shell))
	}
	before := waitStatus(t, c, "a full pool: the call's session busy, the other idle", func(s *client.Status) bool {
		return s.Pool.SessionsBusy == 1 && s.Pool.SessionsIdle == 1 && s.Pool.SessionsStarting == 0
	})
	if err := syscall.Kill(shell, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	res, err := p.Wait()
	switch {
	case err != nil:
		t.Logf("the call failed: %v", err) // a clear error is allowed (C7)
		if !strings.Contains(err.Error(), "session") {
			t.Errorf("error %q does not say that the session was lost", err)
		}
	case res.Signal != 9 || !strings.Contains(res.Message, "shell died"):
		// The shell died of SIGKILL; so does the call, as a script that
		// runs `kill -9 $$` does ($$ is the session's shell).
		t.Errorf("result %v, want killed by signal 9 as its shell was", res)
	default:
		t.Logf("result: %v", res)
	}
	if strings.Contains(out.String(), "not reached") {
		t.Errorf("the command went on after its session died: %q", out.String())
	}
	proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)

	r, err := c.Run(context.Background(), &client.Request{Script: "echo next"}, 0)
	if err != nil || !r.Success() || string(r.Stdout) != "next\n" {
		t.Fatalf("next call: %v %v stdout %q", r, err, r.Stdout)
	}
	after := waitStatus(t, c, "a replacement session", func(s *client.Status) bool {
		return s.Pool.SessionsReplaced > before.Pool.SessionsReplaced && s.Pool.SessionsSpawned > before.Pool.SessionsSpawned
	})
	t.Logf("sessions spawned %d -> %d, replaced %d -> %d", before.Pool.SessionsSpawned, after.Pool.SessionsSpawned,
		before.Pool.SessionsReplaced, after.Pool.SessionsReplaced)
}

// TestFaultDaemonKilledWithCallsInFlight kills -9 the daemon while calls
// run commands that have started grandchildren (C8): every call fails with
// an error rather than hanging, the reaper kills every session, command and
// grandchild, and a new daemon takes over the stale socket.
func TestFaultDaemonKilledWithCallsInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.serveDaemon([]string{"--max-sessions", "4", "--min-idle", "2"})
	c := e.dial(t)
	call := proctest.NewMarker()
	const calls = 4
	var procs []*client.Process
	for i := range calls {
		out := newSignalWriter("started\n")
		req := &client.Request{
			Script: "sleep 300 & sleep 300 & echo started; wait",
			Env:    []string{"MTI_CALL=" + call},
		}
		if i%2 == 1 { // argv form: spawned by the daemon directly, not by a shell
			req = &client.Request{Argv: []string{"bash", "-c", req.Script}, Env: req.Env}
		}
		p, err := c.Start(context.Background(), req, out, nil)
		if err != nil {
			t.Fatal(err)
		}
		out.waitSeen(t, cliBound)
		procs = append(procs, p)
	}
	// Two sleeps per call, and the bash of each argv call (a script's
	// subshell was forked before the call set its environment). A
	// background sleep shows the marker only once it has exec'd, which may
	// come after "started": /proc gives no event for that, so poll.
	want := 2*calls + calls/2
	deadline := time.Now().Add(dieBound)
	for n := len(proctest.Marked("MTI_CALL", call)); n < want; n = len(proctest.Marked("MTI_CALL", call)) {
		if time.Now().After(deadline) {
			t.Fatalf("%d processes of the calls running after %v, want at least %d", n, dieBound, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.done
	for i, p := range procs {
		waited := make(chan error, 1)
		go func() {
			_, err := p.Wait()
			waited <- err
		}()
		select {
		case err := <-waited:
			if err == nil {
				t.Errorf("call %d: no error after the daemon died", i)
			} else if !errors.Is(err, client.ErrUnavailable) {
				t.Logf("call %d: %v (not ErrUnavailable)", i, err)
			}
		case <-time.After(cliBound):
			t.Fatalf("call %d still waiting %v after the daemon died", i, cliBound)
		}
	}
	proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)             // commands and grandchildren
	proctest.AssertNoLeftovers(t, proctest.MarkerVar, e.marker, dieBound) // sessions and the reaper too

	d2 := e.startDaemon(nil)
	if d2.logs.WaitFor("stale", 0, d2.done) {
		t.Logf("the new daemon replaced the stale socket")
	}
	r, err := c.Run(context.Background(), &client.Request{Script: "echo back"}, 0)
	if err != nil {
		// The client may still be backing off from the dead daemon: dial anew.
		r, err = e.dial(t).Run(context.Background(), &client.Request{Script: "echo back"}, 0)
	}
	if err != nil || string(r.Stdout) != "back\n" {
		t.Fatalf("call to the new daemon: %v %v", r, err)
	}
}

// TestFaultSIGTERMUnderLoad sends SIGTERM while clients keep calling (C11):
// each call completes with its exact result, or is cancelled with a clear
// status, or is refused as unavailable; the daemon exits 0 and nothing is
// left running.
func TestFaultSIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.serveDaemon([]string{"--max-sessions", "4", "--drain-timeout", "1s"})
	c := e.dial(t)
	call := proctest.NewMarker()
	const clients = 12
	type tally struct{ ok, cancelled, refused int }
	results := make(chan tally, clients)
	errs := make(chan error, clients)
	inFlight := make(chan struct{}, clients)
	for i := range clients {
		go func() {
			var n tally
			defer func() { results <- n }()
			for j := 0; ; j++ {
				var script, want string
				if j > 0 && (i+j)%3 == 0 {
					script, want = fmt.Sprintf("sleep 5; echo long %d %d", i, j), fmt.Sprintf("long %d %d\n", i, j)
				} else {
					script, want = fmt.Sprintf("echo short %d %d; exit %d", i, j, j%4), fmt.Sprintf("short %d %d\n", i, j)
				}
				if j == 1 {
					inFlight <- struct{}{}
				}
				r, err := c.Run(context.Background(), &client.Request{Script: script, Env: []string{"MTI_CALL=" + call}}, 0)
				switch {
				case errors.Is(err, client.ErrUnavailable):
					n.refused++
					if i == 0 {
						t.Logf("refused: %v", err)
					}
					return // the daemon stopped accepting
				case err != nil:
					errs <- fmt.Errorf("client %d call %d: unclear error: %w", i, j, err)
					return
				case r.Cancelled:
					n.cancelled++
				case string(r.Stdout) != want || (strings.HasPrefix(want, "short") && r.ExitCode != j%4):
					errs <- fmt.Errorf("client %d call %d: %v stdout %q, want %q", i, j, &r.Result, r.Stdout, want)
					return
				default:
					n.ok++
				}
			}
		}()
	}
	for range clients {
		<-inFlight
	}
	// Long calls must be running when the signal comes: wait until two of
	// their sleeps are (nothing reports it but /proc).
	deadline := time.Now().Add(cliBound)
	for sleeping(call) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no long call running after %v", cliBound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	term := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := d.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; log:\n%s", code, d.logs)
	}
	t.Logf("the daemon exited %v after SIGTERM (drain deadline 1s, kill grace 500ms)", time.Since(term).Round(time.Millisecond))
	var total tally
	for range clients {
		select {
		case n := <-results:
			total.ok, total.cancelled, total.refused = total.ok+n.ok, total.cancelled+n.cancelled, total.refused+n.refused
		case <-time.After(cliBound):
			t.Fatalf("a client still calls %v after the daemon exited", cliBound)
		}
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("calls: %d completed, %d cancelled at the drain deadline, %d refused after SIGTERM", total.ok, total.cancelled, total.refused)
	if total.cancelled == 0 {
		t.Errorf("no call was cancelled, though 5 s calls outlast the 1 s drain")
	}
	proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)
}

// sleeping counts the sleep processes marked with MTI_CALL=call.
func sleeping(call string) int {
	n := 0
	for _, pid := range proctest.Marked("MTI_CALL", call) {
		if strings.HasPrefix(proctest.Cmdline(pid), "sleep ") {
			n++
		}
	}
	return n
}
