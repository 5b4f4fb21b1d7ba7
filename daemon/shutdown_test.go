//go:build unix

package daemon_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/pool"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"github.com/mothreads/mothreads/signals"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// startSleep starts `sleep 300` over a raw Exec stream on conn and returns
// its pid once Started has arrived.
func startSleep(t *testing.T, ctx context.Context, conn *grpc.ClientConn) (int, pb.Mothreads_ExecClient) {
	t.Helper()
	st, err := pb.NewMothreadsClient(conn).Exec(ctx, &pb.ExecRequest{Command: &pb.Command{Argv: bs("sleep", "300")}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := st.Recv()
	if err != nil || ev.GetStarted() == nil {
		t.Fatalf("first event %v, %v; want Started", ev, err)
	}
	return int(ev.GetStarted().GetPid()), st
}

// waitCallsDone waits until the pool has no call in flight and checks that
// pid is gone.
func (d *testDaemon) waitCallsDone(t *testing.T, pid int) {
	t.Helper()
	eventually(t, "no call in flight", func() bool {
		st, err := d.client.Status(context.Background())
		return err == nil && st.Calls.InFlight == 0
	})
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after its call ended (kill 0: %v)", pid, err)
	}
}

// TestClientGoneKillsCommand: a client that cancels its call, or whose
// connection drops, gets its command killed (C6).
func TestClientGoneKillsCommand(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		pid, _ := startSleep(t, ctx, d.conn)
		cancel()
		d.waitCallsDone(t, pid)
	})
	t.Run("disconnect", func(t *testing.T) {
		conn, err := grpc.NewClient("unix://"+d.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := startSleep(t, context.Background(), conn)
		conn.Close()
		d.waitCallsDone(t, pid)
	})
	st, err := d.client.Status(context.Background())
	if err != nil || st.Calls.Cancelled != 2 {
		t.Errorf("status %+v, %v; want 2 cancelled calls", st, err)
	}
}

// TestShutdownDrains: Shutdown turns health NOT_SERVING at once, refuses new
// connections, lets the call in flight finish (it needs input sent after
// the shutdown began), then stops cleanly (the cleanup checks Serve's
// result and that the socket is gone).
func TestShutdownDrains(t *testing.T) {
	d := startDaemon(t, daemon.Config{Pool: poolDrain(time.Minute)})
	ctx := context.Background()
	in, inW := io.Pipe()
	out := newNotifyWriter()
	p, err := d.client.Start(ctx, &client.Request{Script: `echo ready; read x; echo "got $x"`, Stdin: in}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "ready\n")

	watch, err := healthpb.NewHealthClient(d.conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := watch.Recv(); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health %v, %v; want SERVING", h, err)
	}
	if err := d.client.Shutdown(ctx, false); err != nil {
		t.Fatal(err)
	}
	if h, err := watch.Recv(); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health during the drain %v, %v; want NOT_SERVING", h, err)
	}
	d.logs.waitFor(t, "no longer accepting connections")
	late, err := client.Dial(ctx, client.WithSocket(d.socket))
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if _, err := late.Status(ctx); !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("a new connection during the drain: %v, want unavailable", err)
	}

	io.WriteString(inW, "go\n")
	inW.Close()
	res, err := p.Wait()
	if err != nil || !res.Success() || out.String() != "ready\ngot go\n" {
		t.Fatalf("call in flight: %v, %v, output %q; want it to finish normally", res, err, out.String())
	}
	if _, err := watch.Recv(); err == nil {
		t.Errorf("health watch still open after the drain")
	}
	d.wait(t)
}

// TestShutdownCancelsAfterDrainDeadline: a call still running at the drain
// deadline is cancelled (SIGTERM) and reports it.
func TestShutdownCancelsAfterDrainDeadline(t *testing.T) {
	d := startDaemon(t, daemon.Config{Pool: poolDrain(200 * time.Millisecond)})
	p := startSleepCall(t, d)
	if err := d.client.Shutdown(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	res, err := p.Wait()
	if err != nil || !res.Cancelled || res.Signal != syscall.SIGTERM {
		t.Errorf("result %+v, %v; want cancelled by SIGTERM", res, err)
	}
	d.wait(t)
}

// TestShutdownSkipDrain: Shutdown with skip_drain cancels calls at once,
// however long the drain timeout.
func TestShutdownSkipDrain(t *testing.T) {
	d := startDaemon(t, daemon.Config{Pool: poolDrain(10 * time.Minute)})
	p := startSleepCall(t, d)
	if err := d.client.Shutdown(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	wantCancelledWithoutDrain(t, p)
	d.wait(t)
}

// TestSkipDrainDuringTheDrain: Config.SkipDrain fired while the drain waits
// (mothreadsd's second signal) cancels the calls at once and the shutdown
// stays ordered: Serve returns nil, nothing is late, the socket is gone
// (startDaemon's cleanup checks those).
func TestSkipDrainDuringTheDrain(t *testing.T) {
	skip := signals.New()
	d := startDaemon(t, daemon.Config{Pool: poolDrain(10 * time.Minute), SkipDrain: skip})
	p := startSleepCall(t, d)
	d.root.Stop()
	d.logs.waitFor(t, "draining calls")
	skip.Go()
	wantCancelledWithoutDrain(t, p)
	d.wait(t)
	d.logs.waitFor(t, "drain skipped")
	if d.root.Forced().Fired() {
		t.Error("skipping the drain forced the tree")
	}
	if late := d.root.Late(); len(late) > 0 {
		t.Errorf("late threads %v", late)
	}
}

// TestSkipDrainStopsTheDaemon: Config.SkipDrain fired before any stop starts
// the shutdown, as Shutdown with skip_drain does.
func TestSkipDrainStopsTheDaemon(t *testing.T) {
	skip := signals.New()
	d := startDaemon(t, daemon.Config{Pool: poolDrain(10 * time.Minute), SkipDrain: skip})
	p := startSleepCall(t, d)
	skip.Go()
	wantCancelledWithoutDrain(t, p)
	d.wait(t)
}

// TestStaleSocketReplaced: a socket file nobody listens on (a crashed
// daemon's) is replaced.
func TestStaleSocketReplaced(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "s.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, daemon.Config{Socket: path})
	if _, err := d.client.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.logs.waitFor(t, "removed a stale socket")
}

// TestAlreadyRunning: a second daemon on a live daemon's socket fails with
// ErrAlreadyRunning and leaves the first one alone, whether it finds the
// lock held or a listener answering.
func TestAlreadyRunning(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	second := serveDaemon(t, daemon.Config{Socket: d.socket})
	second.wait(t)
	if !errors.Is(second.err, daemon.ErrAlreadyRunning) || second.err.Error() != "mothreadsd: already running on "+d.socket {
		t.Errorf("second Serve = %v, want %q", second.err, "mothreadsd: already running on "+d.socket)
	}
	if _, err := d.client.Status(context.Background()); err != nil {
		t.Errorf("the first daemon after the second failed: %v", err)
	}

	path := filepath.Join(shortTempDir(t), "other.sock")
	l, err := net.Listen("unix", path) // something else answers, without the lock
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	third := serveDaemon(t, daemon.Config{Socket: path})
	third.wait(t)
	if !errors.Is(third.err, daemon.ErrAlreadyRunning) {
		t.Errorf("Serve on a socket that answers = %v, want ErrAlreadyRunning", third.err)
	}
}

// TestUnsafeSocketDir: Serve refuses a socket directory that others can
// write, and a socket path that is not a socket.
func TestUnsafeSocketDir(t *testing.T) {
	dir := shortTempDir(t)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	d := serveDaemon(t, daemon.Config{Socket: filepath.Join(dir, "d.sock")})
	d.wait(t)
	if d.err == nil || !strings.Contains(d.err.Error(), "writable by its group or others") {
		t.Errorf("Serve in a 0777 directory = %v, want a refusal", d.err)
	}

	file := filepath.Join(shortTempDir(t), "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d = serveDaemon(t, daemon.Config{Socket: file})
	d.wait(t)
	if d.err == nil || !strings.Contains(d.err.Error(), "is not a socket") {
		t.Errorf("Serve on a regular file = %v, want a refusal", d.err)
	}
	if _, err := os.Lstat(file); err != nil {
		t.Errorf("the regular file was removed: %v", err)
	}
}

// TestSocketModes: the socket is 0600 in a 0700 directory made by Serve.
func TestSocketModes(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "sub", "d.sock")
	d := startDaemon(t, daemon.Config{Socket: path})
	for p, want := range map[string]os.FileMode{filepath.Dir(path): 0o700, d.socket: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %#o, want %#o", p, fi.Mode().Perm(), want)
		}
	}
}

// TestExitIdle: the daemon exits after ExitIdle without calls, and not while
// a call runs.
func TestExitIdle(t *testing.T) {
	d := startDaemon(t, daemon.Config{ExitIdle: 100 * time.Millisecond})
	in, inW := io.Pipe()
	p, err := d.client.Start(context.Background(), &client.Request{Script: "cat", Stdin: in}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	select { // a non-event: give the idle timer several chances to misfire
	case <-d.done:
		t.Fatal("the daemon exited while a call was in flight")
	case <-time.After(500 * time.Millisecond):
	}
	inW.Close()
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	d.wait(t)
	d.logs.waitFor(t, "no calls for the idle time")
}

func poolDrain(d time.Duration) (c pool.Config) {
	c.DrainTimeout = d
	c.KillGrace = time.Second
	return c
}

// TestForcedShutdown: a forced shutdown (a second signal) does not wait for
// the drain: calls are cancelled and Serve returns promptly.
func TestForcedShutdown(t *testing.T) {
	d := startDaemon(t, daemon.Config{Pool: poolDrain(10 * time.Minute)})
	p := startSleepCall(t, d)
	start := time.Now()
	d.root.Stop()
	d.logs.waitFor(t, "draining calls")
	d.root.Force()
	d.wait(t)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("forced shutdown took %v", took)
	}
	if res, err := p.Wait(); err == nil && !res.Cancelled {
		t.Errorf("call after a forced shutdown: %+v, want cancelled or an error", res)
	}
}

// startSleepCall starts a call through the client that runs until it is
// cancelled.
func startSleepCall(t *testing.T, d *testDaemon) *client.Process {
	t.Helper()
	p, err := d.client.Start(context.Background(), &client.Request{Argv: []string{"sleep", "300"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wantCancelledWithoutDrain checks that p was cancelled by a skipped drain.
func wantCancelledWithoutDrain(t *testing.T, p *client.Process) {
	t.Helper()
	res, err := p.Wait()
	if err != nil || !res.Cancelled || !strings.Contains(res.Message, "without drain") {
		t.Errorf("result %+v, %v; want cancelled without drain", res, err)
	}
}
