//go:build linux

package integration

import (
	"os"
	"testing"
)

// TestSoakHeapFlat is issue 13's soak through the daemon: one session that
// is never recycled (--max-uses 0) serves the soak's mix of calls, and the
// heap the daemon's garbage collector last found live (Status) stays where
// the warm-up left it. Before the core's fixes, an Or left attached to a
// long-lived signal kept ~700 bytes of about every other call. 2,000 calls,
// 20,000 with MOTHREADS_SOAK=1.
func TestSoakHeapFlat(t *testing.T) {
	t.Parallel()
	calls := 2000
	if os.Getenv("MOTHREADS_SOAK") == "1" {
		calls = 20000
	}
	e := newEnv(t)
	e.startDaemon([]string{"--max-sessions", "1", "--min-idle", "1", "--max-uses", "0", "--log-level", "info"})
	c := e.dial(t)
	warm := 300
	for i := range warm {
		soakCall(t, c, i)
	}
	// The live heap is measured by each collection: the lowest of the
	// figures seen over a stretch of calls is the heap the calls keep.
	low := func(from, n int) int64 {
		least := int64(-1)
		for i := from; i < from+n; i++ {
			soakCall(t, c, i)
			if h := status(t, c).HeapLiveBytes; h > 0 && (least < 0 || h < least) {
				least = h
			}
		}
		return least
	}
	before := low(warm, 100)
	for i := warm + 100; i < calls-100; i++ {
		soakCall(t, c, i)
	}
	after := low(calls-100, 100)
	grown := after - before
	t.Logf("live heap %d KiB after the warm-up, %d KiB after %d calls (%+d bytes a call)",
		before>>10, after>>10, calls, grown/int64(calls))
	if before <= 0 {
		t.Fatal("Status reports no live heap")
	}
	// 512 KiB: a few hundred bytes kept by every other call is more.
	if grown > 512<<10 {
		t.Errorf("the daemon's live heap grew by %d KiB over %d calls", grown>>10, calls)
	}
}
