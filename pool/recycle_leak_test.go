//go:build linux

package pool_test

import (
	"strconv"
	"testing"

	"github.com/mothreads/mothreads/pool"
)

// TestRecyclingLeaksNoProtocol: sessions recycled after every call while
// their spare child may still be opening its channels. A stopped session
// used to close those channels at once, so the child could open the
// descriptor numbers after the pool had reused them for another call's
// pipes, and write its exit report ("exit 202") into that call's stderr
// (found by TestSoak). No byte of the protocol may reach a call (C1, C5).
func TestRecyclingLeaksNoProtocol(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 2, MaxSessions: 3, MaxUses: 1})
	calls := 600
	if testing.Short() {
		calls = 150
	}
	for i := range calls {
		want := strconv.Itoa(i) + "\n"
		var o outcome
		if i%2 == 0 {
			o = run(t, p, argv("/bin/echo", strconv.Itoa(i)))
		} else {
			o = run(t, p, script("echo "+strconv.Itoa(i)))
		}
		wantExit(t, o, 0)
		if o.stdout != want || o.stderr != "" {
			t.Fatalf("call %d: stdout %q, stderr %q; want %q and nothing", i, o.stdout, o.stderr, want)
		}
	}
}
