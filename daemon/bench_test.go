//go:build unix

package daemon_test

import (
	"context"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

// BenchmarkTrue compares, in one run, `true` run through the daemon (the
// client's unary Run over the Unix socket), through the pool in-process,
// and by spawning `bash -c true`; the -parallel4 variants run 4 callers at
// once, for throughput.
func BenchmarkTrue(b *testing.B) {
	warm := pool.Config{MinIdle: 2}
	req := func() *client.Request { return &client.Request{Argv: []string{"true"}} }
	b.Run("daemon", func(b *testing.B) {
		d := startDaemon(b, daemon.Config{Pool: warm})
		runDaemon(b, d, req)
		for b.Loop() {
			runDaemon(b, d, req)
		}
	})
	b.Run("pool", func(b *testing.B) {
		root := threads.NewRoot("bench")
		b.Cleanup(func() { root.Stop(); root.Join() })
		p, err := pool.New(root, warm)
		if err != nil {
			b.Fatal(err)
		}
		run := func() {
			res, err := p.Run(context.Background(), &pool.Request{Argv: []string{"true"}})
			if err != nil || !res.Success() {
				b.Fatalf("pool: %v, %v", res, err)
			}
		}
		run()
		for b.Loop() {
			run()
		}
	})
	b.Run("bash-c", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("bash", "-c", "true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("daemon-parallel4", func(b *testing.B) {
		d := startDaemon(b, daemon.Config{Pool: pool.Config{MinIdle: 4}})
		runDaemon(b, d, req)
		parallel4(b, func() { runDaemon(b, d, req) })
	})
	b.Run("bash-c-parallel4", func(b *testing.B) {
		parallel4(b, func() {
			if err := exec.Command("bash", "-c", "true").Run(); err != nil {
				b.Error(err)
			}
		})
	})
}

func runDaemon(b *testing.B, d *testDaemon, req func() *client.Request) {
	res, err := d.client.Run(context.Background(), req(), 0)
	if err != nil || !res.Success() {
		b.Errorf("daemon: %v, %v", res, err)
	}
}

// parallel4 runs f b.N times in all, from 4 goroutines.
func parallel4(b *testing.B, f func()) {
	var n atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range 4 {
		wg.Go(func() {
			for n.Add(1) <= int64(b.N) {
				f()
			}
		})
	}
	wg.Wait()
}
