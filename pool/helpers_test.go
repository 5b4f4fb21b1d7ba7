//go:build linux

package pool_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

// testPool starts a pool for one test and registers a cleanup that stops it
// and fails the test if any process it started is still alive.
func testPool(t testing.TB, cfg pool.Config) *pool.Pool {
	t.Helper()
	p, _ := testPoolRoot(t, cfg)
	return p
}

func testPoolRoot(t testing.TB, cfg pool.Config) (*pool.Pool, *threads.Thread) {
	t.Helper()
	marker := proctest.NewMarker()
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	cfg.Env = append(cfg.Env[:len(cfg.Env):len(cfg.Env)], proctest.MarkerVar+"="+marker)
	if cfg.KillGrace == 0 {
		cfg.KillGrace = 500 * time.Millisecond
	}
	if cfg.Launcher == "" {
		cfg.Launcher = launcher()
	}
	root := threads.NewRoot("test", threads.Logger(testLogger(t)))
	p, err := pool.New(root, cfg)
	if err != nil {
		t.Fatalf("pool.New: %v", err)
	}
	t.Cleanup(func() {
		root.Stop()
		if err := root.Join(); err != nil {
			t.Errorf("stopping the pool: %v", err)
		}
		proctest.AssertNoLeftovers(t, proctest.MarkerVar, marker, leftoverBound)
	})
	return p, root
}

// leftoverBound is how long a process that is being killed gets to vanish
// before the leak check counts it as a leftover.
const leftoverBound = 2 * time.Second

// testLogger sends the tree's logs to the test log, so a failing test shows
// what the pool saw.
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("MOTHREADS_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// outcome is a finished call with its output.
type outcome struct {
	*pool.Result
	stdout, stderr string
}

// run runs req and fails the test if the call produced no result.
func run(t *testing.T, p *pool.Pool, req pool.Request) outcome {
	t.Helper()
	o, err := tryRun(p, req)
	if err != nil {
		t.Fatalf("Run(%q%q): %v", req.Argv, req.Script, err)
	}
	return o
}

func tryRun(p *pool.Pool, req pool.Request) (outcome, error) {
	return tryRunCtx(context.Background(), p, req)
}

func tryRunCtx(ctx context.Context, p *pool.Pool, req pool.Request) (outcome, error) {
	var out, errb proctest.Buffer
	if req.Stdout == nil {
		req.Stdout = &out
	}
	if req.Stderr == nil {
		req.Stderr = &errb
	}
	r, err := p.Run(ctx, &req)
	return outcome{Result: r, stdout: out.String(), stderr: errb.String()}, err
}

func script(s string) pool.Request { return pool.Request{Script: s} }

func argv(a ...string) pool.Request { return pool.Request{Argv: a} }

// wantExit fails unless o exited with code.
func wantExit(t *testing.T, o outcome, code int) {
	t.Helper()
	if o.ExitCode != code || o.Signal != 0 || o.SessionLost {
		t.Errorf("result %v, want exit %d (stderr %q)", o.Result, code, o.stderr)
	}
}
