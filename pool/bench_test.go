//go:build linux

package pool_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

// The benchmarks compare the pool with spawning, in the same run, so their
// figures read as ratios on any machine. `go test -bench . ./pool` prints
// them; the README quotes a run on a named machine.

func benchPool(b *testing.B, cfg pool.Config) *pool.Pool {
	b.Helper()
	root := threads.NewRoot("bench")
	b.Cleanup(func() { root.Stop(); root.Join() })
	if cfg.MinIdle == 0 {
		cfg.MinIdle = 2
	}
	p, err := pool.New(root, cfg)
	if err != nil {
		b.Fatal(err)
	}
	// Warm up: make sure the idle sessions exist.
	for range 2 * cfg.MinIdle {
		if _, err := p.Run(context.Background(), &pool.Request{Script: "true"}); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

func runPool(b *testing.B, p *pool.Pool, req pool.Request) {
	b.Helper()
	ctx := context.Background()
	for b.Loop() {
		r := req
		res, err := p.Run(ctx, &r)
		if err != nil || !res.Success() {
			b.Fatalf("run: %v %v", res, err)
		}
	}
}

func runSpawn(b *testing.B, name string, args ...string) {
	b.Helper()
	for b.Loop() {
		if err := exec.Command(name, args...).Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTrue(b *testing.B) {
	b.Run("pool-script", func(b *testing.B) { runPool(b, benchPool(b, pool.Config{}), pool.Request{Script: "true"}) })
	b.Run("pool-argv", func(b *testing.B) { runPool(b, benchPool(b, pool.Config{}), pool.Request{Argv: []string{"true"}}) })
	b.Run("bash-c", func(b *testing.B) { runSpawn(b, "bash", "-c", "true") })
}

func BenchmarkEchoHi(b *testing.B) {
	b.Run("pool-script", func(b *testing.B) {
		runPool(b, benchPool(b, pool.Config{}), pool.Request{Script: "echo hi", Stdout: discard{}})
	})
	b.Run("bash-c", func(b *testing.B) { runSpawn(b, "bash", "-c", "echo hi") })
}

func BenchmarkBinTrue(b *testing.B) {
	b.Run("pool-argv", func(b *testing.B) { runPool(b, benchPool(b, pool.Config{}), pool.Request{Argv: []string{"/bin/true"}}) })
	b.Run("exec-direct", func(b *testing.B) { runSpawn(b, "/bin/true") })
	b.Run("bash-c", func(b *testing.B) { runSpawn(b, "bash", "-c", "/bin/true") })
}

// The init case: a 100 ms prelude (a virtualenv, nvm, module load) paid once
// per session by the pool, and on every call by a spawned shell.
const slowInit = "sleep 0.1; export PRELUDE=done"

func BenchmarkInit100ms(b *testing.B) {
	b.Run("pool-script", func(b *testing.B) {
		runPool(b, benchPool(b, pool.Config{Init: slowInit}), pool.Request{Script: "true"})
	})
	b.Run("bash-c", func(b *testing.B) { runSpawn(b, "bash", "-c", slowInit+"; true") })
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

var _ = time.Second
