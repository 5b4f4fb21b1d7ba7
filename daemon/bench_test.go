//go:build unix

package daemon_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// The benchmarks compare paths through the daemon with their baselines in
// the same run, interleaved (one call of each per iteration, in turn), and
// report the medians and their ratios with b.ReportMetric, so that they
// read the same on a busy machine:
//
//	go test -run '^$' -bench . -benchtime 2000x ./daemon
//
// Nothing here asserts a time: the figures are for reading and comparing.

// interleave runs each side once per iteration, in turn, and returns each
// side's median latency. A side reports failure with b.Fatal.
func interleave(b *testing.B, sides ...func()) []time.Duration {
	b.Helper()
	lat := make([][]time.Duration, len(sides))
	for b.Loop() {
		for i, side := range sides {
			t := time.Now()
			side()
			lat[i] = append(lat[i], time.Since(t))
		}
	}
	meds := make([]time.Duration, len(sides))
	for i := range lat {
		meds[i] = median(lat[i])
	}
	return meds
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// benchDaemon starts a daemon with warm sessions for a benchmark.
func benchDaemon(b *testing.B, minIdle int) *testDaemon {
	b.Helper()
	d := startDaemon(b, daemon.Config{Pool: pool.Config{MinIdle: minIdle}})
	return d
}

// benchPool starts a pool in-process with warm sessions.
func benchPool(b *testing.B, minIdle int) *pool.Pool {
	b.Helper()
	root := threads.NewRoot("bench")
	b.Cleanup(func() { root.Stop(); root.Join() })
	launcher, _ := os.Executable() // TestMain calls pool.Launch, as the daemon's does
	p, err := pool.New(root, pool.Config{MinIdle: minIdle, Launcher: launcher})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.WaitWarm(context.Background()); err != nil {
		b.Fatal(err)
	}
	return p
}

func runDaemon(b *testing.B, c *client.Client, req *client.Request) {
	res, err := c.Run(context.Background(), req, 0)
	if err != nil || !res.Success() {
		b.Fatalf("daemon: %v, %v", res, err)
	}
}

func runPool(b *testing.B, p *pool.Pool, req pool.Request) {
	res, err := p.Run(context.Background(), &req)
	if err != nil || !res.Success() {
		b.Fatalf("pool: %v, %v", res, err)
	}
}

func spawn(b *testing.B, name string, args ...string) {
	if err := exec.Command(name, args...).Run(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDaemonOverhead measures what the daemon adds over its pool: an
// isolated script `true` through the daemon (client.Run over the Unix
// socket), the same on a pool in-process, and an empty unary gRPC call on
// the same connection (the health check: the floor any RPC pays here).
// overhead-µs is daemon minus pool; target (issue 10): at most +80 µs.
func BenchmarkDaemonOverhead(b *testing.B) {
	d := benchDaemon(b, 2)
	p := benchPool(b, 2)
	health := healthpb.NewHealthClient(d.conn)
	daemonReq := &client.Request{Script: "true"}
	empty := func() {
		if _, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			b.Fatal(err)
		}
	}
	runDaemon(b, d.client, daemonReq)
	empty()
	m := interleave(b,
		func() { runDaemon(b, d.client, daemonReq) },
		func() { runPool(b, p, pool.Request{Script: "true"}) },
		empty)
	b.ReportMetric(us(m[0]), "daemon-p50-µs")
	b.ReportMetric(us(m[1]), "pool-p50-µs")
	b.ReportMetric(us(m[2]), "unary-p50-µs")
	b.ReportMetric(us(m[0]-m[1]), "overhead-µs")
	b.ReportMetric(us(m[0]-m[1])/max(us(m[2]), 1), "overhead/unary")
}

// BenchmarkDaemonExecStream is BenchmarkDaemonOverhead's daemon side on the
// streaming calls: client.Exec (the Exec stream) and client.Start+Wait (the
// Attach stream, as the CLI uses it), against the pool in-process.
func BenchmarkDaemonExecStream(b *testing.B) {
	d := benchDaemon(b, 2)
	p := benchPool(b, 2)
	req := &client.Request{Script: "true"}
	exec := func() {
		res, err := d.client.Exec(context.Background(), req, nil, nil)
		if err != nil || !res.Success() {
			b.Fatalf("exec: %v, %v", res, err)
		}
	}
	attach := func() {
		pr, err := d.client.Start(context.Background(), req, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if res, err := pr.Wait(); err != nil || !res.Success() {
			b.Fatalf("attach: %v, %v", res, err)
		}
	}
	exec()
	attach()
	m := interleave(b, exec, attach, func() { runPool(b, p, pool.Request{Script: "true"}) })
	b.ReportMetric(us(m[0]), "exec-p50-µs")
	b.ReportMetric(us(m[1]), "attach-p50-µs")
	b.ReportMetric(us(m[2]), "pool-p50-µs")
	b.ReportMetric(us(m[0]-m[2]), "exec-overhead-µs")
	b.ReportMetric(us(m[1]-m[2]), "attach-overhead-µs")
}

// BenchmarkDaemonArgv compares `/bin/true` in argv form through the daemon
// with os/exec spawning it. Target (issue 10): at most 1.2x slower.
func BenchmarkDaemonArgv(b *testing.B) {
	d := benchDaemon(b, 2)
	req := &client.Request{Argv: []string{"/bin/true"}}
	runDaemon(b, d.client, req)
	m := interleave(b, func() { runDaemon(b, d.client, req) }, func() { spawn(b, "/bin/true") })
	b.ReportMetric(us(m[0]), "daemon-p50-µs")
	b.ReportMetric(us(m[1]), "osexec-p50-µs")
	b.ReportMetric(float64(m[0])/float64(m[1]), "slowdown-p50")
}

// BenchmarkDaemonScript compares an isolated script `true` through the
// daemon, back to back, with spawning `bash -c true`. Target (issue 10):
// 3x faster.
func BenchmarkDaemonScript(b *testing.B) {
	d := benchDaemon(b, 2)
	req := &client.Request{Script: "true"}
	runDaemon(b, d.client, req)
	m := interleave(b, func() { runDaemon(b, d.client, req) }, func() { spawn(b, "bash", "-c", "true") })
	b.ReportMetric(us(m[0]), "daemon-p50-µs")
	b.ReportMetric(us(m[1]), "bash-c-p50-µs")
	b.ReportMetric(float64(m[1])/float64(m[0]), "speedup-p50")
}

// BenchmarkDaemonParallel4 compares the throughput of 4 callers running the
// script `true` through the daemon with 4 callers spawning `bash -c true`,
// in alternating rounds of 4×8 calls. Target (issue 10): 1.5x the calls/s.
func BenchmarkDaemonParallel4(b *testing.B) {
	d := benchDaemon(b, 4)
	req := &client.Request{Script: "true"}
	runDaemon(b, d.client, req)
	const callers, perRound = 4, 8
	round := func(f func()) time.Duration {
		t := time.Now()
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				for range perRound {
					f()
				}
			})
		}
		wg.Wait()
		return time.Since(t)
	}
	var daemonWall, spawnWall time.Duration
	var rounds atomic.Int64
	for b.Loop() {
		daemonWall += round(func() { runDaemon(b, d.client, req) })
		spawnWall += round(func() { spawn(b, "bash", "-c", "true") })
		rounds.Add(1)
	}
	calls := float64(rounds.Load() * callers * perRound)
	b.ReportMetric(calls/daemonWall.Seconds(), "daemon-calls/s")
	b.ReportMetric(calls/spawnWall.Seconds(), "bash-c-calls/s")
	b.ReportMetric(spawnWall.Seconds()/daemonWall.Seconds(), "speedup")
}

// BenchmarkDaemonCallCPU reports the CPU time this process (client and
// daemon, not the session's shells) spends per call of the script `true`
// on each of the three RPCs, and on a pool in-process for comparison: a
// figure that a busy machine disturbs less than latency. The same for the
// goroutines created and the allocations.
func BenchmarkDaemonCallCPU(b *testing.B) {
	d := benchDaemon(b, 2)
	p := benchPool(b, 2)
	req := &client.Request{Script: "true"}
	for _, rpc := range []struct {
		name string
		call func()
	}{
		{"pool", func() { runPool(b, p, pool.Request{Script: "true"}) }},
		{"pool-writers", func() { runPool(b, p, pool.Request{Script: "true", Stdout: io.Discard, Stderr: io.Discard}) }},
		{"unary", func() {
			if _, err := healthpb.NewHealthClient(d.conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
				b.Fatal(err)
			}
		}},
		{"run", func() { runDaemon(b, d.client, req) }},
		{"exec", func() {
			if res, err := d.client.Exec(context.Background(), req, nil, nil); err != nil || !res.Success() {
				b.Fatalf("exec: %v, %v", res, err)
			}
		}},
		{"attach", func() {
			p, err := d.client.Start(context.Background(), req, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			if res, err := p.Wait(); err != nil || !res.Success() {
				b.Fatalf("attach: %v, %v", res, err)
			}
		}},
	} {
		b.Run(rpc.name, func(b *testing.B) {
			rpc.call()
			b.ReportAllocs()
			lat := make([]time.Duration, 0, b.N)
			cpu0, g0 := processCPU(), goroutinesCreated()
			for b.Loop() {
				t := time.Now()
				rpc.call()
				lat = append(lat, time.Since(t))
			}
			b.ReportMetric(us(processCPU()-cpu0)/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(goroutinesCreated()-g0)/float64(b.N), "goroutines/op")
			b.ReportMetric(us(median(lat)), "p50-µs")
		})
	}
}

// goroutinesCreated is the number of goroutines this process has created.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDaemonThroughput streams 100 MB of output through the daemon
// (client.Exec into a writer that discards) and through a local pipe (the
// same command spawned with its stdout on a pipe this process reads), in
// turns, and reports both rates and their ratio.
func BenchmarkDaemonThroughput(b *testing.B) {
	const size = 100_000_000
	d := benchDaemon(b, 1)
	script := "head -c " + strconv.Itoa(size) + " /dev/zero"
	m := interleave(b, func() {
		res, err := d.client.Exec(context.Background(), &client.Request{Script: script}, io.Discard, nil)
		if err != nil || !res.Success() {
			b.Fatalf("exec: %v, %v", res, err)
		}
	}, func() {
		cmd := exec.Command("head", "-c", strconv.Itoa(size), "/dev/zero")
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, out); err != nil || n != size {
			b.Fatalf("pipe: %d bytes, %v", n, err)
		}
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	})
	mbps := func(d time.Duration) float64 { return size / 1e6 / d.Seconds() }
	b.ReportMetric(mbps(m[0]), "daemon-MB/s")
	b.ReportMetric(mbps(m[1]), "pipe-MB/s")
	b.ReportMetric(mbps(m[0])/mbps(m[1]), "daemon/pipe")
}

// BenchmarkDaemonSticky compares the script `true` in a sticky session
// through the daemon (client.Run) with spawning `bash -c true`, in turns.
// Target (issue 10): 8x faster.
func BenchmarkDaemonSticky(b *testing.B) {
	d := benchDaemon(b, 1)
	req := &client.Request{Script: "true", Session: "bench"}
	runDaemon(b, d.client, req)
	m := interleave(b, func() { runDaemon(b, d.client, req) }, func() { spawn(b, "bash", "-c", "true") })
	b.ReportMetric(us(m[0]), "daemon-p50-µs")
	b.ReportMetric(us(m[1]), "bash-c-p50-µs")
	b.ReportMetric(float64(m[1])/float64(m[0]), "speedup-p50")
}

// BenchmarkDaemonInit compares the script `true` through a daemon whose
// sessions ran `sleep 0.1` as their init with spawning `bash -c 'sleep
// 0.1; true'`, in turns. Target (issue 10): 300x faster.
func BenchmarkDaemonInit(b *testing.B) {
	d := startDaemon(b, daemon.Config{Pool: pool.Config{MinIdle: 1, Init: "sleep 0.1"}})
	req := &client.Request{Script: "true"}
	runDaemon(b, d.client, req)
	m := interleave(b, func() { runDaemon(b, d.client, req) }, func() { spawn(b, "bash", "-c", "sleep 0.1\ntrue") })
	b.ReportMetric(us(m[0]), "daemon-p50-µs")
	b.ReportMetric(us(m[1]), "bash-c-p50-µs")
	b.ReportMetric(float64(m[1])/float64(m[0]), "speedup-p50")
}
