//go:build linux

package integration

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/internal/proctest"
)

// TestFaultClientKilledMidStream kills -9 the CLI while its command runs,
// once while the command floods its output and once while it is silent:
// the daemon cancels the call, kills the command, counts it as cancelled,
// and goes on serving.
func TestFaultClientKilledMidStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	c := e.dial(t)
	for _, tc := range []struct{ name, script string }{
		{"flooding", "echo ready; yes"},
		{"silent", "echo ready; sleep 300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := status(t, c)
			call := proctest.NewMarker()
			cmd := e.cli([]string{"exec", "--env", "MTI_CALL=" + call, "--", "bash", "-c", tc.script})
			startReading(t, cmd).expect(t, "ready")
			cmd.Process.Kill()
			cmd.Wait()
			proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)
			waitStatus(t, c, "the call counted as cancelled", func(s *client.Status) bool {
				return s.Calls.Cancelled > before.Calls.Cancelled && s.Calls.InFlight == 0
			})
			r := e.run("exec", "--", "echo", "still serving").want(t, 0)
			if r.stdout != "still serving\n" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
}

// stallWriter is an io.Writer that accepts its first write, reports it,
// and then blocks every write until released: a client that stops reading.
type stallWriter struct {
	first     chan struct{}
	firstOnce sync.Once
	release   chan struct{}
}

func (w *stallWriter) Write(p []byte) (int, error) {
	w.firstOnce.Do(func() { close(w.first) })
	<-w.release
	return len(p), nil
}

// writtenBytes returns the bytes pid has written (wchar in /proc/PID/io).
func writtenBytes(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// waitStalled polls until pid has written nothing for a while: nothing
// reports that a writer blocked on a full pipe.
func waitStalled(t *testing.T, pid int) int64 {
	t.Helper()
	deadline := time.Now().Add(cliBound)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last, still := int64(-1), 0
	for still < 6 {
		<-tick.C
		n, ok := writtenBytes(pid)
		if !ok {
			t.Fatalf("process %d is gone", pid)
		}
		if n == last {
			still++
		} else {
			last, still = n, 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still writing after %v (%d bytes)", pid, cliBound, n)
		}
	}
	return last
}

// quickCalls runs n trivial calls and returns their sorted latencies.
func quickCalls(t *testing.T, c *client.Client, n int) []time.Duration {
	t.Helper()
	var lat []time.Duration
	for i := range n {
		start := time.Now()
		r, err := c.Run(context.Background(), &client.Request{Script: fmt.Sprintf("echo quick %d", i)}, 0)
		if err != nil || string(r.Stdout) != fmt.Sprintf("quick %d\n", i) {
			t.Fatalf("quick call %d: %v %v", i, r, err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	return lat
}

// stalledReaderRSSBoundKB bounds how much the daemon's resident memory may
// grow while a client does not read a huge output: what the stream's flow
// control lets through, and noise (the race detector's shadow memory).
const stalledReaderRSSBoundKB = 48 << 10

// startStalled starts `head -c 1G /dev/zero` on c with w as its stdout,
// over the Attach stream (Start) or the Exec stream, and returns the pid
// of head and a function that waits for the call.
func startStalled(t *testing.T, ctx context.Context, c *client.Client, attach bool, call string, w io.Writer) (int, func() (*client.Result, error)) {
	t.Helper()
	req := &client.Request{Argv: []string{"head", "-c", strconv.Itoa(1 << 30), "/dev/zero"}, Env: []string{"MTI_CALL=" + call}}
	if attach {
		p, err := c.Start(ctx, req, w, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p.PID, p.Wait
	}
	type outcome struct {
		res *client.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := c.Exec(ctx, req, w, nil)
		done <- outcome{res, err}
	}()
	deadline := time.Now().Add(cliBound)
	for {
		if pids := proctest.Marked("MTI_CALL", call); len(pids) > 0 {
			return pids[0], func() (*client.Result, error) { o := <-done; return o.res, o.err }
		}
		if time.Now().After(deadline) {
			t.Fatalf("head not running after %v", cliBound)
		}
		time.Sleep(5 * time.Millisecond) // polling /proc: nothing else says it started
	}
}

// TestFaultStalledReader: a client stops reading a 1 GiB output (C13), on
// the Attach stream and on the Exec stream. The command blocks, the
// daemon's memory stays bounded, another client's calls still complete
// (their latency ratio is logged), and cancelling the stalled call kills
// the command.
func TestFaultStalledReader(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon([]string{"--max-sessions", "4"})
	other := e.dial(t)
	for _, attach := range []bool{true, false} {
		t.Run(map[bool]string{true: "attach", false: "exec"}[attach], func(t *testing.T) {
			before := quickCalls(t, other, 30)
			rssBefore := procStatusKB(t, d.pid(), "VmRSS")
			call := proctest.NewMarker()
			w := &stallWriter{first: make(chan struct{}), release: make(chan struct{})}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pid, wait := startStalled(t, ctx, e.dial(t), attach, call, w)
			var releaseOnce sync.Once
			release := func() { releaseOnce.Do(func() { close(w.release) }) }
			defer release()
			select {
			case <-w.first:
			case <-time.After(cliBound):
				t.Fatal("no output reached the client")
			}
			written := waitStalled(t, pid)
			rssStalled := procStatusKB(t, d.pid(), "VmRSS")
			during := quickCalls(t, other, 30)
			rssAfter := procStatusKB(t, d.pid(), "VmRSS")
			if now, _ := writtenBytes(pid); now != written {
				t.Logf("the command wrote %d more bytes during the quick calls", now-written)
			}
			t.Logf("the command wrote %d of %d bytes before it blocked", written, 1<<30)
			t.Logf("daemon VmRSS: %d kB before, %d kB stalled, %d kB after 30 more calls", rssBefore, rssStalled, rssAfter)
			t.Logf("quick call latency p50 %v -> %v (x%.2f), max %v -> %v, with a stalled stream",
				percentile(before, 50), percentile(during, 50), float64(percentile(during, 50))/float64(percentile(before, 50)),
				before[len(before)-1], during[len(during)-1])
			if grown := max(rssStalled, rssAfter) - rssBefore; grown > stalledReaderRSSBoundKB {
				t.Errorf("daemon RSS grew by %d kB with a stalled reader, bound %d kB", grown, stalledReaderRSSBoundKB)
			}
			if written >= 1<<30 {
				t.Errorf("the command wrote all its output: nothing stalled it")
			}

			cancel()
			release()
			res, err := wait()
			t.Logf("the stalled call after cancel: %v, %v", res, err)
			if err == nil && !res.Cancelled {
				t.Errorf("result %v, want cancelled", res)
			}
			proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)
			quickCalls(t, other, 1)
		})
	}
}

// TestFaultStderrFloodSilentStdout: megabytes on stderr while stdout stays
// silent must neither block the command nor lose or reorder a byte.
func TestFaultStderrFloodSilentStdout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	const n = 1000000
	var want strings.Builder
	for i := 1; i <= n; i++ {
		want.WriteString(strconv.Itoa(i))
		want.WriteByte('\n')
	}
	for _, args := range [][]string{
		{"exec", "-c", fmt.Sprintf("seq 1 %d >&2; echo done", n)},
		{"exec", "--", "bash", "-c", fmt.Sprintf("seq 1 %d >&2; echo done", n)},
	} {
		r := e.run(args...).want(t, 0)
		if r.stderr != want.String() {
			t.Errorf("%v: stderr of %d bytes differs from the %d bytes of seq", args, len(r.stderr), want.Len())
		}
		if r.stdout != "done\n" {
			t.Errorf("%v: stdout %q, want %q", args, r.stdout, "done\n")
		}
	}
}

// TestFaultTwoHundredChildren: a command that leaves 200 sleeping children
// times out, and every one of them is gone after the call (C5, C6, C8).
func TestFaultTwoHundredChildren(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	for _, form := range [][]string{
		{"-c", "for i in $(seq 200); do sleep 300 & done; echo spawned; wait"},
		{"--", "bash", "-c", "for i in $(seq 200); do sleep 300 & done; echo spawned; wait"},
	} {
		call := proctest.NewMarker()
		cmd := e.cli(append([]string{"exec", "--timeout", "5s", "--env", "MTI_CALL=" + call}, form...))
		startReading(t, cmd).expect(t, "spawned")
		// The last children may still be between fork and exec, where
		// their environment is not yet the marked one.
		deadline := time.Now().Add(3 * time.Second) // within the 5 s timeout
		n := len(proctest.Marked("MTI_CALL", call))
		for ; n < 200 && time.Now().Before(deadline); n = len(proctest.Marked("MTI_CALL", call)) {
			time.Sleep(10 * time.Millisecond) // polling /proc: no event says "exec'd"
		}
		if n < 200 {
			t.Errorf("%v: %d processes running, want at least 200", form, n)
		}
		if code := waitExit(t, cmd); code != 124 {
			t.Errorf("%v: exit status %d, want 124 (timed out)", form, code)
		}
		proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)
	}
}
