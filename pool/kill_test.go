//go:build linux

package pool_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/signals"
)

// C6: a timeout kills the whole process group, SIGTERM first; the result
// says timed out and keeps the output produced before.
func TestTimeoutKillsTheTree(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	for _, req := range []pool.Request{
		{Script: "echo before; sleep 300 & bash -c 'sleep 300' & sleep 300"}, // grandchildren too
		{Argv: []string{"sh", "-c", "echo before; sleep 300 & sleep 300"}},   // the direct path
	} {
		// Long enough for the command to start on a loaded machine.
		req.Timeout = time.Second
		start := time.Now()
		o := run(t, p, req)
		if !o.TimedOut || o.Signal != syscall.SIGTERM || o.stdout != "before\n" {
			t.Errorf("%q%q: result %v, stdout %q; want timed out by SIGTERM after output", req.Argv, req.Script, o.Result, o.stdout)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("timeout took %v", d)
		}
	}
	// The session is healthy afterwards (reused or replaced).
	wantExit(t, run(t, p, script("echo ok")), 0)
}

// C6: a command that ignores SIGTERM gets SIGKILL after the kill grace.
func TestKillGrace(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	req := script("trap '' TERM; echo armed; while :; do sleep 0.05; done")
	// The trap must be set before the timeout, on a loaded machine too.
	req.Timeout, req.KillGrace = time.Second, 300*time.Millisecond
	o := run(t, p, req)
	if !o.TimedOut || o.Signal != syscall.SIGKILL {
		t.Errorf("result %v, want timed out by SIGKILL", o.Result)
	}
}

// C6: cancelling the caller's context cancels the call at every phase:
// while queued, while its session starts, while it runs.
func TestCancelAtEveryPhase(t *testing.T) {
	t.Run("running", func(t *testing.T) {
		p := testPool(t, pool.Config{MinIdle: 1})
		ctx, cancel := context.WithCancel(t.Context())
		out := newSignalWriter("up")
		h, err := p.Start(ctx, &pool.Request{Script: "echo up; sleep 300", Stdout: out})
		if err != nil {
			t.Fatal(err)
		}
		<-out.seen
		cancel()
		r, err := h.Wait()
		if err != nil || !r.Cancelled || r.Signal != syscall.SIGTERM {
			t.Errorf("result %v, %v; want cancelled by SIGTERM", r, err)
		}
	})
	t.Run("queued", func(t *testing.T) {
		p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
		h, err := p.Start(t.Context(), &pool.Request{Script: "sleep 300"})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Cancel()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := tryRunCtx(ctx, p, script("echo must not run"))
			done <- err
		}()
		waitFor(t, func() bool { return p.Stats().QueueLength == 1 })
		cancel()
		if err := <-done; err == nil {
			t.Fatal("a call cancelled while queued ran")
		}
		if p.Stats().QueueLength != 0 {
			t.Error("the cancelled call is still queued")
		}
	})
	t.Run("starting", func(t *testing.T) {
		// No warm session: the call waits for one to start, slowly.
		p := testPool(t, pool.Config{MinIdle: 0, Init: "sleep 2"})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := tryRunCtx(ctx, p, script("echo must not run"))
			done <- err
		}()
		waitFor(t, func() bool { return p.Stats().SessionsStarting == 1 })
		start := time.Now()
		cancel()
		if err := <-done; err == nil {
			t.Fatal("a call cancelled while its session started ran")
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("cancel took %v; it should not wait for the session", d)
		}
	})
}

// C7: a command that ends or replaces its shell gets the status bash -c
// would give, and the next call works. $$ names the session's shell, not
// the call's process (bash sets $$ only when it starts): a signal sent to
// it reaches the call's process a moment later, so the script is stopped
// while it waits here.
func TestCommandKillsItsShell(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 2})
	for _, tc := range []struct {
		script string
		sig    syscall.Signal
	}{
		{"kill -9 $$; sleep 10; echo survived", syscall.SIGKILL},
		{"kill $$; sleep 10; echo survived", syscall.SIGTERM},
		{"kill -USR1 $$; sleep 10; echo survived", syscall.SIGUSR1},
		{"(kill -HUP $$); sleep 10; echo survived", syscall.SIGHUP},
	} {
		o := run(t, p, script(tc.script))
		if o.stdout != "" || o.Signal != tc.sig {
			t.Errorf("%s: %v, stdout %q; want killed by %v", tc.script, o.Result, o.stdout, tc.sig)
		}
	}
	o := run(t, p, script(`trap 'echo got INT; exit 5' INT; kill -INT $$; sleep 10; echo survived`))
	if o.stdout != "got INT\n" || o.ExitCode != 5 {
		t.Errorf("trapped INT sent to $$: %v, stdout %q; want the trap's exit 5", o.Result, o.stdout)
	}
	wantExit(t, run(t, p, script("exit 3")), 3)
	wantExit(t, run(t, p, script("exec true")), 0)
	for range 4 {
		wantExit(t, run(t, p, script("echo next")), 0)
	}
	waitFor(t, func() bool { return p.Stats().SessionsReplaced >= 1 }) // the session ends after its call
}

// A signal that a call sends to $$ is passed on to that call or to no one:
// a call that ends before the signal reaches it never leaves it to the next
// call or to an idle child (issue 12). The calls here end at once, so the
// signal arrives after their end; with one session, each next call comes
// straight after on the same shell.
func TestSignalToShellNeverReachesTheNextCall(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
	for i := range 30 {
		sig := []string{"TERM", "USR1", "INT", "HUP"}[i%4]
		wantExit(t, run(t, p, script("trap '' "+sig+"; kill -"+sig+" $$")), 0)
		o := run(t, p, script("echo next"))
		if o.ExitCode != 0 || o.Signal != 0 || o.stdout != "next\n" {
			t.Fatalf("the call after `kill -%s $$`: %v, stdout %q", sig, o.Result, o.stdout)
		}
	}
	if st := p.Stats(); st.SessionsReplaced != 0 {
		t.Errorf("%d sessions replaced: a signal reached an idle child", st.SessionsReplaced)
	}
}

// C8: a session whose shell dies (killed from outside) takes its command
// with it, and is replaced.
func TestShellKilledFromOutside(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
	h, err := p.Start(t.Context(), &pool.Request{Script: "sleep 300"})
	if err != nil {
		t.Fatal(err)
	}
	pids := shellPIDs(p)
	if len(pids) != 1 {
		t.Fatalf("shells: %v", pids)
	}
	syscall.Kill(pids[0], syscall.SIGKILL)
	r, err := h.Wait()
	if err != nil || r.Signal != syscall.SIGKILL || !strings.Contains(r.Message, "shell died") {
		t.Errorf("result %v, %v; want killed by SIGKILL, as its shell was", r, err)
	}
	wantExit(t, run(t, p, script("echo replaced")), 0)
}

// C6 at shutdown: stopping the pool lets a call finish within the drain
// deadline and cancels one that would not.
func TestStopDrainsThenCancels(t *testing.T) {
	p, root := testPoolRoot(t, pool.Config{MinIdle: 2, DrainTimeout: 300 * time.Millisecond})
	short, err := p.Start(t.Context(), &pool.Request{Script: "sleep 0.1; echo finished"})
	if err != nil {
		t.Fatal(err)
	}
	long, err := p.Start(t.Context(), &pool.Request{Script: "sleep 300"})
	if err != nil {
		t.Fatal(err)
	}
	root.Stop()
	if r, err := short.Wait(); err != nil || !r.Success() {
		t.Errorf("short call: %v, %v; want it to finish during the drain", r, err)
	}
	if r, err := long.Wait(); err != nil || !r.Cancelled {
		t.Errorf("long call: %v, %v; want cancelled after the drain deadline", r, err)
	}
	_, err = tryRun(p, script("true"))
	var re *pool.RequestError
	if !errors.As(err, &re) || re.Kind != pool.Unavailable {
		t.Errorf("call after stop: %v, want Unavailable", err)
	}
}

func TestSignalDelivery(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	out := newSignalWriter("ready")
	h, err := p.Start(t.Context(), &pool.Request{
		Script: "trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.02; done",
		Stdout: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	<-out.seen
	h.Signal(syscall.SIGINT)
	r, err := h.Wait()
	if err != nil || r.ExitCode != 7 || !strings.Contains(out.String(), "got INT") {
		t.Errorf("result %v, %v, output %q; want exit 7 from the INT trap", r, err, out.String())
	}
}

// waitFor waits until cond holds, checking each time the pool might have
// changed; it gives up after five seconds. It is for conditions on another
// process's progress that no signal reports.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	limit, release := (*signals.Timers)(nil).Till(5 * time.Second)
	defer release()
	for !cond() {
		tick, stop := (*signals.Timers)(nil).Till(time.Millisecond)
		fired := !tick.WaitTill(limit)
		stop()
		if fired {
			t.Fatal("condition not reached within 5s")
		}
	}
}

func shellPIDs(p *pool.Pool) []int { return p.ShellPIDs() }
