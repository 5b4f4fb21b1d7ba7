//go:build unix

package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/pool"
)

// TestConcurrentExec: 200 streaming calls at once on a pool of 4 sessions
// queue (C10), run, and each gets exactly its own output (C1) and status.
func TestConcurrentExec(t *testing.T) {
	d := startDaemon(t, daemon.Config{Pool: pool.Config{MaxSessions: 4}})
	const calls, lines = 200, 500
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			var stdout, stderr bytes.Buffer
			res, err := d.client.Exec(context.Background(), &client.Request{
				Script: fmt.Sprintf(`i=%d; for ((j = 0; j < %d; j++)); do echo "call $i line $j"; done; printf 'end %%d' $i >&2; exit $((i %% 7))`, i, lines),
			}, &stdout, &stderr)
			var want strings.Builder
			for j := range lines {
				fmt.Fprintf(&want, "call %d line %d\n", i, j)
			}
			switch {
			case err != nil:
				errs <- fmt.Errorf("call %d: %w", i, err)
			case res.ExitCode != i%7:
				errs <- fmt.Errorf("call %d: %v, want exit %d", i, res, i%7)
			case stdout.String() != want.String():
				errs <- fmt.Errorf("call %d: stdout of %d bytes differs from the %d expected", i, stdout.Len(), want.Len())
			case stderr.String() != fmt.Sprintf("end %d", i):
				errs <- fmt.Errorf("call %d: stderr %q", i, stderr.String())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st, err := d.client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Pool.SessionsSpawned > 4+int64(st.Pool.SessionsReplaced+st.Pool.SessionsRecycled) || st.Calls.Started < calls {
		t.Errorf("status %+v %+v: want at most 4 sessions at a time and %d calls", st.Pool, st.Calls, calls)
	}
}
