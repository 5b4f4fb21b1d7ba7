//go:build linux

package pool_test

import (
	"os"
	"runtime"
	"testing"

	"github.com/mothreads/mothreads/pool"
)

// TestHeapFlatOverCalls is issue 13's soak on the pool itself: one session
// that is never recycled (MaxUses 0) runs thousands of calls, and the heap
// in use afterwards is what it was after a warm-up. An Or left attached to
// a long-lived signal (the bug: ~1.4 KB on about half of all calls) grows
// it by megabytes. MOTHREADS_SOAK=1 runs 20,000 calls.
func TestHeapFlatOverCalls(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
	calls := 2000
	if os.Getenv("MOTHREADS_SOAK") != "" {
		calls = 20000
	}
	if testing.Short() {
		calls = 300
	}
	batch := func(n int) {
		for range n {
			wantExit(t, run(t, p, script("true")), 0)
			wantExit(t, run(t, p, pool.Request{Argv: []string{"true"}}), 0)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	batch(200)
	before := heap()
	batch(calls / 2)
	after := heap()
	grown := int64(after) - int64(before)
	t.Logf("heap in use %d KiB after the warm-up, %d KiB after %d calls (%+d bytes a call)",
		before>>10, after>>10, calls, grown/int64(calls))
	// 1 MiB of slack: a few hundred bytes a call over thousands of calls
	// is a leak.
	if grown > 1<<20 {
		t.Errorf("the heap grew by %d KiB over %d calls", grown>>10, calls)
	}
}
