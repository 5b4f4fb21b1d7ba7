//go:build linux

package pool_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

// Fifty concurrent calls on a pool of four: every call gets its own output,
// nothing is lost or mixed, and the pool never exceeds its maximum.
func TestConcurrentCalls(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 2, MaxSessions: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			req := script(fmt.Sprintf("for j in 1 2 3; do echo call-%d-$j; echo err-%d >&2; done; exit %d", i, i, i%7))
			if i%2 == 1 {
				req = argv("sh", "-c", fmt.Sprintf("echo call-%d-1; echo call-%d-2; echo call-%d-3; for j in 1 2 3; do echo err-%d >&2; done; exit %d", i, i, i, i, i%7))
			}
			o, err := tryRun(p, req)
			switch {
			case err != nil:
				errs <- err
			case o.stdout != fmt.Sprintf("call-%d-1\ncall-%d-2\ncall-%d-3\n", i, i, i):
				errs <- fmt.Errorf("call %d: stdout %q", i, o.stdout)
			case o.stderr != strings.Repeat(fmt.Sprintf("err-%d\n", i), 3):
				errs <- fmt.Errorf("call %d: stderr %q", i, o.stderr)
			case o.ExitCode != i%7:
				errs <- fmt.Errorf("call %d: %v", i, o.Result)
			}
			if st := p.Stats(); st.SessionsIdle+st.SessionsBusy+st.SessionsStarting > 4 {
				errs <- fmt.Errorf("pool over its maximum: %+v", st)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := p.Stats(); st.CallsStarted != 50 {
		t.Errorf("CallsStarted = %d", st.CallsStarted)
	}
}

// C10: with every session busy at the maximum, calls wait in FIFO order and
// fail with Busy after the queue timeout; none is dropped silently.
func TestBackpressure(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 1, QueueTimeout: 300 * time.Millisecond})
	// The queue timeout also bounds the wait for a session that is still
	// starting, which a loaded machine can stretch past 300 ms.
	if err := p.WaitWarm(t.Context()); err != nil {
		t.Fatal(err)
	}
	blocker, err := p.Start(t.Context(), &pool.Request{Script: "read line; echo $line", Stdin: strings.NewReader("")})
	if err != nil {
		t.Fatal(err)
	}
	blocker.Wait()
	if err := p.WaitWarm(t.Context()); err != nil {
		t.Fatal(err)
	}

	hold, err := p.Start(t.Context(), &pool.Request{Script: "sleep 300"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = tryRun(p, script("echo never"))
	var re *pool.RequestError
	if !errors.As(err, &re) || re.Kind != pool.Busy || !errors.Is(err, pool.ErrQueueTimeout) {
		t.Fatalf("queued call: %v, want Busy", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("queue timeout after %v", d)
	}

	// FIFO: three queued calls start in arrival order once the session frees.
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	p2 := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 1, QueueTimeout: 10 * time.Second})
	gate, err := p2.Start(t.Context(), &pool.Request{Script: "sleep 0.3"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		waitFor(t, func() bool { return p2.Stats().QueueLength == i })
		wg.Go(func() {
			// The order is recorded as each call runs (its output arrives
			// before it returns), not as its caller gets the result: with one
			// session the next call may run before the last caller resumes.
			req := script("echo ran")
			var first sync.Once
			req.Stdout = writerFunc(func(b []byte) (int, error) {
				first.Do(func() {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
				})
				return len(b), nil
			})
			if _, err := tryRun(p2, req); err != nil {
				t.Error(err)
			}
		})
	}
	gate.Wait()
	wg.Wait()
	if fmt.Sprint(order) != "[0 1 2]" {
		t.Errorf("queued calls ran in order %v", order)
	}
	hold.Cancel()
	hold.Wait()
}

// Session recycling: MaxUses retires a session after that many calls, and
// Stats counts it.
func TestRecycling(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 1, MaxUses: 3})
	pids := map[string]bool{}
	for range 7 {
		o := run(t, p, script("echo $$"))
		pids[o.stdout] = true
	}
	if len(pids) < 3 {
		t.Errorf("7 calls with MaxUses 3 ran in %d shells", len(pids))
	}
	waitFor(t, func() bool { return p.Stats().SessionsRecycled >= 2 })

	q := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 2, MaxAge: 50 * time.Millisecond})
	first := run(t, q, script("echo $$")).stdout
	waitFor(t, func() bool { return q.Stats().SessionsRecycled >= 1 })
	if run(t, q, script("echo $$")).stdout == first {
		t.Error("a session past MaxAge served again")
	}
}

// IdleTimeout stops sessions beyond MinIdle; MinIdle sessions are kept warm.
func TestIdleTimeoutKeepsMinIdle(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 3, IdleTimeout: 100 * time.Millisecond})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { run(t, p, script("sleep 0.2")) })
	}
	wg.Wait()
	waitFor(t, func() bool {
		st := p.Stats()
		return st.SessionsIdle == 1 && st.SessionsBusy == 0 && st.SessionsRecycled >= 2
	})
	if err := p.WaitWarm(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// The init script runs once per session; its environment, functions and
// aliases are what every call sees; a failing one is a clear start error.
func TestInitScript(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, Init: `export GREETING=hi; greet() { echo "$GREETING $1"; }; shopt -s expand_aliases; alias ll='echo aliased'; cd /tmp; umask 027`})
	o := run(t, p, script("greet script; ll; pwd; umask"))
	if o.stdout != "hi script\naliased\n/tmp\n0027\n" {
		t.Errorf("init state in a script: %q", o.stdout)
	}
	o = run(t, p, argv("greet", "argv"))
	if o.stdout != "hi argv\n" {
		t.Errorf("init function called through argv: %q", o.stdout)
	}
	// init changed the umask: external programs run through the session's
	// shell, so they inherit it.
	o = run(t, p, argv("sh", "-c", "umask"))
	if o.stdout != "0027\n" {
		t.Errorf("external program's umask after init: %q", o.stdout)
	}

	bad := pool.Config{MinIdle: 0, Init: "echo 'init went wrong' >&2; exit 4"}
	q := testPool(t, bad)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := tryRunCtx(ctx, q, script("true"))
	var re *pool.RequestError
	if !errors.As(err, &re) || re.Kind != pool.StartFailed || !strings.Contains(err.Error(), "init went wrong") || !strings.Contains(err.Error(), "status 4") {
		t.Errorf("failing init: %v; want StartFailed with the init's output", err)
	}
}

// Any POSIX shell works, without warmth: each call is a fresh `sh -c`.
func TestPOSIXShell(t *testing.T) {
	p := testPool(t, pool.Config{Shell: "/bin/sh", MinIdle: 1, Init: "export FROM=init"})
	o := run(t, p, script(`echo "$FROM $0"; exit 3`))
	if o.stdout != "init /bin/sh\n" || o.ExitCode != 3 {
		t.Errorf("sh pool: %v %q", o.Result, o.stdout)
	}
	o = run(t, p, argv("printf", "%s", "a b"))
	if o.stdout != "a b" {
		t.Errorf("sh pool argv: %q", o.stdout)
	}
}

// C9: a shell that does not exist, or a bad policy, is a clear error at
// New, naming the setting.
func TestBadConfig(t *testing.T) {
	root := threads.NewRoot("test")
	defer func() { root.Stop(); root.Join() }()
	for _, tc := range []struct {
		cfg  pool.Config
		want string
	}{
		{pool.Config{Shell: "no-such-shell-mothreads"}, "shell"},
		{pool.Config{MinIdle: -1}, "min_idle"},
		{pool.Config{MinIdle: 5, MaxSessions: 2}, "min_idle"},
		{pool.Config{KillGrace: -time.Second}, "kill_grace"},
	} {
		if _, err := pool.New(root, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
