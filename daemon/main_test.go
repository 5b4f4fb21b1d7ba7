//go:build unix

package daemon_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/internal/proctest"
	"github.com/mothreads/mothreads/pool"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"github.com/mothreads/mothreads/threads"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestMain fails the package when a test leaves goroutines behind: every
// test stops its daemon (which joins its whole thread tree) and closes its
// clients in its cleanup. In helper mode it is the other-uid client of
// TestPeerCredentialsRefuseOtherUsers instead.
func TestMain(m *testing.M) {
	pool.Launch()
	if sock := os.Getenv(helperEnv); sock != "" {
		os.Exit(runHelper(sock))
	}
	goleak.VerifyTestMain(m)
}

// testDaemon is a daemon served by Serve in the test's process.
type testDaemon struct {
	root   *threads.Thread
	cfg    daemon.Config
	socket string
	dir    string
	done   chan struct{} // closed when Serve has returned
	err    error         // Serve's error, set before done closes
	logs   *notifyWriter // the daemon's log
	client *client.Client
	conn   *grpc.ClientConn // raw, for protocol-level tests
	rpc    pb.MothreadsClient
}

// shortTempDir returns a new 0700 directory whose path is short enough for
// a Unix socket, removed at the end of the test.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mtd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// serveDaemon starts Serve with cfg (the socket in a new temporary
// directory unless cfg names one) without waiting for it.
func serveDaemon(t testing.TB, cfg daemon.Config) *testDaemon {
	t.Helper()
	d := &testDaemon{dir: shortTempDir(t), done: make(chan struct{}), logs: newNotifyWriter()}
	if cfg.Socket == "" {
		cfg.Socket = filepath.Join(d.dir, "d.sock")
	}
	if cfg.Pool.QueueTimeout == 0 {
		cfg.Pool.QueueTimeout = time.Minute
	}
	if cfg.Pool.Launcher == "" {
		cfg.Pool.Launcher, _ = os.Executable()
	}
	if cfg.Pool.KillGrace == 0 {
		cfg.Pool.KillGrace = time.Second
	}
	cfg.Version = "test"
	d.cfg, d.socket = cfg, cfg.Socket
	level := slog.LevelDebug
	if _, ok := t.(*testing.B); ok {
		level = slog.LevelInfo // as a daemon runs; debug logs cost per call
	}
	logger := slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: level}))
	d.root = threads.NewRoot("main", threads.Logger(logger))
	go func() {
		defer close(d.done)
		d.err = daemon.Serve(d.root, cfg)
	}()
	t.Cleanup(func() {
		d.root.Stop() // when Serve failed, or the test did not stop it
		d.wait(t)
		d.root.Join()
		if t.Failed() {
			t.Logf("daemon logs:\n%s", d.logs.String())
		}
	})
	return d
}

// startDaemon starts a daemon and waits until it serves; the test's cleanup
// stops it and checks that it shut down cleanly and removed its socket.
func startDaemon(t testing.TB, cfg daemon.Config) *testDaemon {
	t.Helper()
	d := serveDaemon(t, cfg)
	t.Cleanup(func() { d.stop(t) })
	conn, err := grpc.NewClient("unix://"+d.socket, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{ // the socket may not exist yet: retry soon
			Backoff:           backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.6, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: 5 * time.Second,
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d.conn, d.rpc = conn, pb.NewMothreadsClient(conn)
	d.waitServing(t)
	c, err := client.Dial(context.Background(), client.WithSocket(d.socket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d.client = c
	return d
}

// waitServing waits until the daemon's health says SERVING, or Serve fails.
func (d *testDaemon) waitServing(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		select {
		case <-d.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	w, err := healthpb.NewHealthClient(d.conn).Watch(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil {
		t.Fatalf("health watch: %v (Serve: %v)", err, d.err)
	}
	for {
		resp, err := w.Recv()
		if err != nil {
			<-d.done
			t.Fatalf("waiting for the daemon: %v (Serve: %v)", err, d.err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
	}
}

// stop stops the daemon (if it is still running) and checks that Serve
// returned nil, that no thread is left, and that the socket is gone.
func (d *testDaemon) stop(t testing.TB) {
	t.Helper()
	d.root.Stop()
	select {
	case <-d.done:
	case <-time.After(time.Minute):
		t.Fatalf("Serve did not return; running: %v", d.root.Running())
	}
	if err := d.root.Join(); err != nil {
		t.Errorf("root: %v", err)
	}
	if d.err != nil {
		t.Errorf("Serve: %v", d.err)
	}
	if _, err := os.Lstat(d.socket); !os.IsNotExist(err) {
		t.Errorf("socket %s still there after the shutdown (%v)", d.socket, err)
	}
}

// wait waits until Serve has returned.
func (d *testDaemon) wait(t testing.TB) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(time.Minute):
		t.Fatalf("Serve did not return; running: %v", d.root.Running())
	}
}

// notifyWriter is an io.Writer that records what it gets and lets a test
// wait until a given string has arrived.
type notifyWriter struct{ proctest.Buffer }

func newNotifyWriter() *notifyWriter { return &notifyWriter{} }

// waitFor waits until the output contains s, and fails the test if it does
// not within 30 seconds.
func (w *notifyWriter) waitFor(t testing.TB, s string) {
	t.Helper()
	if !w.WaitFor(s, 30*time.Second, nil) {
		t.Fatalf("output %q never contained %q", w.String(), s)
	}
}

// eventually polls cond until it holds, for conditions that nothing
// signals (a figure of Status).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not the case after 30s", what)
		}
		<-tick.C
	}
}

// bs is ss as the proto's repeated bytes.
func bs(ss ...string) [][]byte {
	b := make([][]byte, len(ss))
	for i, s := range ss {
		b[i] = []byte(s)
	}
	return b
}
