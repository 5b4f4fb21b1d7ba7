//go:build linux

package pool_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
	"github.com/mothreads/mothreads/pool"
)

// An interrupt ends a sticky call's command as ^C on a terminal does: the
// rest of its script is skipped, the status is 130, and the session keeps
// its state.
func TestStickyInterrupt(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 3})
	wantExit(t, run(t, p, pool.Request{Script: "X=kept; cd /tmp", Session: "s"}), 0)
	var out proctest.Buffer
	h, err := p.Start(context.Background(), &pool.Request{Script: "echo before; sleep 300; echo after", Session: "s", Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !out.WaitFor("before", 10*time.Second, nil) {
		t.Fatal("the command did not start")
	}
	if err := p.Interrupt("s"); err != nil {
		t.Fatal(err)
	}
	r, err := h.Wait()
	if err != nil || !r.Interrupted || r.ExitCode != 130 || out.String() != "before\n" {
		t.Errorf("interrupted call: %v, %v, stdout %q; want interrupted, exit 130, no \"after\"", r, err, out.String())
	}
	o := run(t, p, pool.Request{Script: `echo "$X $PWD"`, Session: "s"})
	if o.stdout != "kept /tmp\n" {
		t.Errorf("after the interrupt: %q, want the state kept", o.stdout)
	}
	if err := p.Interrupt("s"); err == nil {
		t.Error("Interrupt of an idle session: no error")
	}
	var re *pool.RequestError
	if err := p.Interrupt("nope"); !errors.As(err, &re) || re.Kind != pool.NotFound || !errors.Is(err, pool.ErrNoSession) {
		t.Errorf("Interrupt of no session: %v", err)
	}
}

// Background jobs of a sticky session outlive the call that started them,
// are its jobs in later calls, and what they write after their call ended
// goes to the session's log, never into a later call's output. Closing the
// session ends them (the test's leftover check sees to that).
func TestStickyBackgroundJobs(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 3})
	o := run(t, p, pool.Request{Script: `sleep 300 & (read -r _ < <(sleep 0.3); echo late-output) & echo started`, Session: "s"})
	if o.stdout != "started\n" {
		t.Fatalf("first call: %q", o.stdout)
	}
	o = run(t, p, pool.Request{Script: `jobs | wc -l; sleep 1; echo second`, Session: "s"})
	if strings.TrimSpace(strings.Split(o.stdout, "\n")[0]) != "2" || strings.Contains(o.stdout, "late") {
		t.Errorf("second call: %q; want its own output, 2 jobs, nothing of the first call", o.stdout)
	}
	waitFor(t, func() bool {
		data, _, _, err := p.SessionLog("s", 0)
		return err == nil && string(data) == "late-output\n"
	})
	info, ok := p.Session("s")
	if !ok || len(info.Jobs) < 1 || info.Busy || info.Calls != 2 || info.LogSize != int64(len("late-output\n")) {
		t.Errorf("session info: %+v", info)
	}
	o = run(t, p, pool.Request{Script: `kill %1; wait %1; echo "$?"; jobs -r | wc -l`, Session: "s"})
	if o.stdout != "143\n0\n" {
		t.Errorf("kill %%1: %q", o.stdout)
	}
	if err := p.CloseSession("s"); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Session("s"); ok {
		t.Error("the session is still listed after CloseSession")
	}
}

// A command that prompts gets its answer from a later Input, on its stdin
// (OpenStdin) or on the session's terminal; Session says what it waits for.
func TestStickyInput(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 3})
	for _, tc := range []struct {
		script, waiting string
		open, tty       bool
	}{
		{`read -r x; echo "got $x"`, "stdin", true, false},
		{`read -r x </dev/tty; echo "got $x"`, "terminal", false, true},
	} {
		var out proctest.Buffer
		h, err := p.Start(context.Background(), &pool.Request{Script: tc.script, Session: "s", Stdout: &out, OpenStdin: tc.open})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { info, _ := p.Session("s"); return info.Waiting == tc.waiting })
		if err := p.Input("s", []byte("hello\n"), false, tc.tty); err != nil {
			t.Fatal(err)
		}
		if r, err := h.Wait(); err != nil || r.ExitCode != 0 || out.String() != "got hello\n" {
			t.Errorf("%s: %v, %v, stdout %q", tc.script, r, err, out.String())
		}
	}
	if err := p.Input("s", []byte("x"), false, false); err == nil {
		t.Error("Input to an idle session: no error")
	}
}

// Sticky sessions have a cap of their own below MaxSessions, so idle ones
// never starve isolated calls; a new one beyond the cap closes the least
// recently used idle one, whose name then starts afresh.
func TestStickyCap(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 4, MaxSticky: 2, QueueTimeout: 10 * time.Second})
	wantExit(t, run(t, p, pool.Request{Script: "X=a", Session: "a"}), 0)
	wantExit(t, run(t, p, pool.Request{Script: "X=b", Session: "b"}), 0)
	for range 3 {
		wantExit(t, run(t, p, script("true")), 0)
	}
	wantExit(t, run(t, p, pool.Request{Script: "X=c", Session: "c"}), 0)
	waitFor(t, func() bool { return len(p.Sessions()) == 2 })
	o := run(t, p, pool.Request{Script: `echo "${X-fresh}"`, Session: "a"})
	if o.stdout != "fresh\n" {
		t.Errorf("the least recently used session: %q, want it closed and started afresh", o.stdout)
	}
	o = run(t, p, pool.Request{Script: `echo "${X-fresh}"`, Session: "c"})
	if o.stdout != "c\n" {
		t.Errorf("the newest session: %q", o.stdout)
	}
}

// A sticky session created with its own idle timeout is closed after it.
func TestStickyIdleTimeout(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 3})
	wantExit(t, run(t, p, pool.Request{Script: "X=1", Session: "brief", SessionIdleTimeout: 200 * time.Millisecond}), 0)
	wantExit(t, run(t, p, pool.Request{Script: "X=1", Session: "lasting"}), 0)
	if info, ok := p.Session("brief"); ok && info.IdleTimeout != 200*time.Millisecond {
		t.Errorf("idle timeout: %v", info.IdleTimeout)
	}
	waitFor(t, func() bool { _, ok := p.Session("brief"); return !ok })
	if _, ok := p.Session("lasting"); !ok {
		t.Error("the session without an idle timeout was closed")
	}
}
