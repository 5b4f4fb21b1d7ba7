//go:build linux

package integration

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/internal/proctest"
)

// sessionShells returns the daemon's session shells (its children that run
// the session program) and, for each, its children: the pre-forked calls.
func sessionShells(d *daemon) map[int][]int {
	out := map[int][]int{}
	all := descendants(d.pid())
	for _, pid := range all {
		if parentOf(pid) == d.pid() && strings.HasPrefix(proctest.Cmdline(pid), "mothreads-session-") {
			out[pid] = nil
		}
	}
	for _, pid := range all {
		if _, ok := out[parentOf(pid)]; ok {
			out[parentOf(pid)] = append(out[parentOf(pid)], pid)
		}
	}
	return out
}

// TestFaultIdleSessionPartsKilled kills -9, while nothing runs, first every
// pre-forked child of the sessions, then every session shell (C7): each
// following call must still work, exactly, and Status must show the
// replacements.
func TestFaultIdleSessionPartsKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon([]string{"--max-sessions", "3", "--min-idle", "2"})
	c := e.dial(t)
	calls := func(what string) {
		t.Helper()
		for i := range 6 {
			want := fmt.Sprintf("%s %d\n", what, i)
			var req *client.Request
			if i%2 == 0 {
				req = &client.Request{Script: fmt.Sprintf("echo %s %d", what, i)}
			} else {
				req = &client.Request{Argv: []string{"echo", what, fmt.Sprint(i)}}
			}
			r, err := c.Run(context.Background(), req, 0)
			if err != nil {
				t.Fatalf("%s: call %d: %v", what, i, err)
			}
			if !r.Success() || string(r.Stdout) != want || len(r.Stderr) != 0 {
				t.Fatalf("%s: call %d: %v %v stdout %q stderr %q", what, i, r, err, r.Stdout, r.Stderr)
			}
		}
	}
	// Only ready sessions are killed: a session killed while it starts is a
	// start failure, which the pool rightly reports to a call waiting for
	// it (a broken --init must fail calls at once), so the test waits for
	// the pool's replacements to be ready before each round of kills.
	steady := func() {
		t.Helper()
		waitStatus(t, c, "two idle sessions and none starting", func(s *client.Status) bool {
			return s.Pool.SessionsIdle >= 2 && s.Pool.SessionsStarting == 0
		})
	}
	calls("warm")
	steady()

	// Each kill is waited for: a process killed while a call is being
	// handed to it would rightly make that call fail or report SIGKILL.
	shells := sessionShells(d)
	killed := 0
	for _, kids := range shells {
		for _, pid := range kids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil && proctest.WaitGone(pid, dieBound) {
				killed++
			}
		}
	}
	t.Logf("killed %d pre-forked children of %d sessions", killed, len(shells))
	if killed == 0 {
		t.Fatalf("no pre-forked child found under %v", shells)
	}
	calls("children")

	steady()
	before := status(t, c)
	for pid := range sessionShells(d) {
		if syscall.Kill(pid, syscall.SIGKILL) != nil || !proctest.WaitGone(pid, dieBound) {
			t.Fatalf("session shell %d did not die", pid)
		}
	}
	calls("shells")
	after := waitStatus(t, c, "the sessions replaced", func(s *client.Status) bool {
		return s.Pool.SessionsReplaced >= before.Pool.SessionsReplaced+1
	})
	t.Logf("sessions spawned %d -> %d, replaced %d -> %d", before.Pool.SessionsSpawned, after.Pool.SessionsSpawned,
		before.Pool.SessionsReplaced, after.Pool.SessionsReplaced)
}
