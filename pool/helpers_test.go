//go:build linux

package pool_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

// markerVar tags every process a test pool starts: the sessions get it in
// their environment and everything they start inherits it, so leftovers can
// be found in /proc after the test (C8), whatever their parent became.
const markerVar = "MOTHREADS_TEST_MARKER"

// testPool starts a pool for one test and registers a cleanup that stops it
// and fails the test if any process it started is still alive.
func testPool(t testing.TB, cfg pool.Config) *pool.Pool {
	t.Helper()
	p, _ := testPoolRoot(t, cfg)
	return p
}

func testPoolRoot(t testing.TB, cfg pool.Config) (*pool.Pool, *threads.Thread) {
	t.Helper()
	marker := newMarker()
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	cfg.Env = append(cfg.Env[:len(cfg.Env):len(cfg.Env)], markerVar+"="+marker)
	if cfg.KillGrace == 0 {
		cfg.KillGrace = 500 * time.Millisecond
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
		assertNoLeftovers(t, marker)
	})
	return p, root
}

func newMarker() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

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

// assertNoLeftovers fails if a process carrying marker is alive. Processes
// that are being killed get up to two seconds to die; their end is watched
// through a pidfd, not by polling.
func assertNoLeftovers(t testing.TB, marker string) {
	t.Helper()
	for _, pid := range markedProcesses(marker) {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // already gone
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(fds, 2000)
		unix.Close(fd)
		if n == 0 {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			t.Errorf("process %d (%.60q) started by the pool outlived it (C8)", pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
			unix.Kill(pid, unix.SIGKILL)
		}
	}
}

func markedProcesses(marker string) []int {
	entries, _ := os.ReadDir("/proc")
	want := []byte(markerVar + "=" + marker + "\x00")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(env, want) {
			out = append(out, pid)
		}
	}
	return out
}

// outcome is a finished call with its output.
type outcome struct {
	*pool.Result
	stdout, stderr string
}

// syncBuffer is a bytes.Buffer safe for the pool's concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
	var out, errb syncBuffer
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
