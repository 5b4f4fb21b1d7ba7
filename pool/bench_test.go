//go:build linux

package pool_test

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

// The benchmarks compare the pool with spawning, in the same run, and
// report ratios, so their figures read the same on any machine:
//
//	go test -run '^$' -bench . -benchtime 2000x ./pool
//
// Each Benchmark*Versus alternates one pool call and one spawn per
// iteration and reports both medians and their ratio (speedup-p50: spawn
// median over pool median; slowdown-p50 for the argv case, where the pool
// can only add). The plain sub-benchmarks give closed-loop ns/op.

func benchPool(b *testing.B, cfg pool.Config) *pool.Pool {
	b.Helper()
	root := threads.NewRoot("bench")
	b.Cleanup(func() { root.Stop(); root.Join() })
	if cfg.MinIdle == 0 {
		cfg.MinIdle = 2
	}
	cfg.Launcher = launcher()
	p, err := pool.New(root, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.WaitWarm(context.Background()); err != nil {
		b.Fatal(err)
	}
	return p
}

func poolCall(b *testing.B, p *pool.Pool, req pool.Request) {
	res, err := p.Run(context.Background(), &req)
	if err != nil || !res.Success() {
		b.Fatalf("run: %v %v", res, err)
	}
}

func spawn(b *testing.B, name string, args ...string) {
	if err := exec.Command(name, args...).Run(); err != nil {
		b.Fatal(err)
	}
}

// versus alternates pool and spawn calls and reports their medians.
func versus(b *testing.B, p *pool.Pool, req pool.Request, spawnArgv []string, metric string) {
	var mine, theirs []time.Duration
	for b.Loop() {
		t0 := time.Now()
		poolCall(b, p, req)
		t1 := time.Now()
		spawn(b, spawnArgv[0], spawnArgv[1:]...)
		mine, theirs = append(mine, t1.Sub(t0)), append(theirs, time.Since(t1))
	}
	pm, sm := median(mine), median(theirs)
	b.ReportMetric(float64(pm.Microseconds()), "pool-p50-µs")
	b.ReportMetric(float64(sm.Microseconds()), "spawn-p50-µs")
	switch metric {
	case "speedup":
		b.ReportMetric(float64(sm)/float64(pm), "speedup-p50")
	case "slowdown":
		b.ReportMetric(float64(pm)/float64(sm), "slowdown-p50")
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// An isolated builtin: the fork that isolation needs happens ahead of time.
func BenchmarkTrueVersusBashC(b *testing.B) {
	versus(b, benchPool(b, pool.Config{}), pool.Request{Script: "true"}, []string{"bash", "-c", "true"}, "speedup")
}

func BenchmarkEchoVersusBashC(b *testing.B) {
	versus(b, benchPool(b, pool.Config{}), pool.Request{Script: "echo hi", Stdout: discard{}}, []string{"bash", "-c", "echo hi"}, "speedup")
}

// A sticky session: the call runs in the session's shell itself.
func BenchmarkStickyVersusBashC(b *testing.B) {
	versus(b, benchPool(b, pool.Config{}), pool.Request{Script: "true", Session: "bench"}, []string{"bash", "-c", "true"}, "speedup")
}

// An external program in argv form: the pool can only add to the spawn.
func BenchmarkBinTrueVersusExec(b *testing.B) {
	versus(b, benchPool(b, pool.Config{}), pool.Request{Argv: []string{"/bin/true"}}, []string{"/bin/true"}, "slowdown")
}

// A 100 ms prelude (a virtualenv, nvm, module load), paid once per session
// by the pool and on every call by a spawned shell.
const slowInit = "sleep 0.1; export PRELUDE=done"

func BenchmarkInitVersusBashC(b *testing.B) {
	versus(b, benchPool(b, pool.Config{Init: slowInit}), pool.Request{Script: "true"}, []string{"bash", "-c", slowInit + "; true"}, "speedup")
}

// Closed-loop throughput of each way, one caller.
func BenchmarkTrue(b *testing.B) {
	b.Run("pool-script", func(b *testing.B) {
		p := benchPool(b, pool.Config{})
		for b.Loop() {
			poolCall(b, p, pool.Request{Script: "true"})
		}
	})
	b.Run("pool-argv", func(b *testing.B) {
		p := benchPool(b, pool.Config{})
		for b.Loop() {
			poolCall(b, p, pool.Request{Argv: []string{"true"}})
		}
	})
	b.Run("bash-c", func(b *testing.B) {
		for b.Loop() {
			spawn(b, "bash", "-c", "true")
		}
	})
}

// The latency of a call that arrives at an idle pool: between calls the
// benchmark waits, untimed, until the pool is warm again.
func BenchmarkTrueIdlePool(b *testing.B) {
	p := benchPool(b, pool.Config{})
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		p.WaitWarm(context.Background())
		b.StartTimer()
		t0 := time.Now()
		poolCall(b, p, pool.Request{Script: "true"})
		lat = append(lat, time.Since(t0))
	}
	b.ReportMetric(float64(median(lat).Microseconds()), "p50-µs")
}

// The private memory of one idle session: its shell and its two pre-forked
// children.
func BenchmarkIdleSessionMemory(b *testing.B) {
	p := benchPool(b, pool.Config{MinIdle: 1})
	var mem int64
	for b.Loop() {
		mem = p.Stats().IdleSessionMemoryHint
	}
	b.ReportMetric(float64(mem)/(1<<10), "KiB/session")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
