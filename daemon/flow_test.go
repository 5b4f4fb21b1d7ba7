//go:build linux

package daemon_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/pool"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"github.com/mothreads/mothreads/signals"
)

// TestSlowReaderBackpressure: a client that does not read makes the command
// block on its pipe, and the daemon's memory does not grow with the output
// (C13); once the client reads, every byte arrives.
func TestSlowReaderBackpressure(t *testing.T) {
	const size = 128 << 20
	d := startDaemon(t, daemon.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := d.rpc.Exec(ctx, &pb.ExecRequest{Command: &pb.Command{Argv: bs("head", "-c", strconv.Itoa(size), "/dev/zero")}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := st.Recv()
	if err != nil || ev.GetStarted() == nil {
		t.Fatalf("first event %v, %v; want Started", ev, err)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	waitOutputStalled(t, ev.GetStarted().GetPid())
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap grew by %d KiB while %d MiB of output waited", grown>>10, size>>20)
	if grown > 32<<20 {
		t.Errorf("heap grew by %d MiB while the client did not read", grown>>20)
	}

	total := 0
	for {
		ev, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		total += len(ev.GetStdout())
		if e := ev.GetExited(); e != nil && e.GetExitCode() != 0 {
			t.Errorf("exited %v", e)
		}
	}
	if total != size {
		t.Errorf("%d bytes arrived, want %d", total, size)
	}
}

// stalledExec starts a call that writes without end on a stream this test
// never reads, and returns once the stall has reached the command (see
// waitOutputStalled).
func stalledExec(t *testing.T, d *testDaemon) {
	t.Helper()
	st, err := d.rpc.Exec(context.Background(), &pb.ExecRequest{Command: &pb.Command{Argv: bs("head", "-c", "1000000000", "/dev/zero")}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := st.Recv()
	if err != nil || ev.GetStarted() == nil {
		t.Fatalf("first event %v, %v; want Started", ev, err)
	}
	waitOutputStalled(t, ev.GetStarted().GetPid())
}

// waitOutputStalled waits until the command pid blocks writing to its
// output pipe: the client's stall has then reached it through the stream's
// flow control and the daemon's buffers, so the call's handler is blocked
// sending. It skips the test where the kernel hides where processes wait.
func waitOutputStalled(t *testing.T, pid int32) {
	t.Helper()
	if !wchanVisible(t) {
		t.Skip("the kernel does not show where processes wait (/proc/PID/wchan)")
	}
	wchan := "/proc/" + strconv.Itoa(int(pid)) + "/wchan"
	eventually(t, "the command blocks writing to its pipe", func() bool {
		b, _ := os.ReadFile(wchan)
		return strings.Contains(string(b), "pipe")
	})
}

// wchanVisible reports whether /proc/PID/wchan names where a sleeping
// process waits (kernels may hide it).
func wchanVisible(t *testing.T) bool {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	path := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/wchan"
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); <-tick.C {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), "sleep") {
			return true
		}
	}
	return false
}

// TestShutdownWithStalledClient: a client that stops reading cannot hold up
// the shutdown: the pool cancels its call at the drain timeout, and the
// server closes the connection at its drain deadline, which unblocks the
// output; Serve then returns cleanly (the cleanup checks).
func TestShutdownWithStalledClient(t *testing.T) {
	d := startDaemon(t, daemon.Config{Pool: pool.Config{DrainTimeout: 200 * time.Millisecond, KillGrace: 200 * time.Millisecond}})
	stalledExec(t, d)
	if err := d.client.Shutdown(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	d.wait(t)
	d.logs.waitFor(t, "drain deadline passed or shutdown forced: closing every connection")
}

// TestSkipDrainWithStalledClient: a drain skipped while it runs gets the
// skip-drain deadline from the skip, not what was left of the drain: a
// client that stops reading holds the shutdown up two kill graces and a
// second, not the ten minutes of drain timeout.
func TestSkipDrainWithStalledClient(t *testing.T) {
	skip := signals.New()
	d := startDaemon(t, daemon.Config{Pool: pool.Config{DrainTimeout: 10 * time.Minute, KillGrace: 200 * time.Millisecond}, SkipDrain: skip})
	stalledExec(t, d)
	d.root.Stop()
	d.logs.waitFor(t, "draining calls")
	skip.Go()
	d.wait(t) // within a minute, far below the drain timeout
	d.logs.waitFor(t, "drain deadline passed or shutdown forced: closing every connection")
}
