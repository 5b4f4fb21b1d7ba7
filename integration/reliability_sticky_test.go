//go:build linux

package integration

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/internal/proctest"
)

// TestFaultStickyShellKilledMidCall kills -9 a sticky session's shell while
// it runs a call (C7): the call reports the session lost, its command dies,
// and the next call with the same name gets a new, empty session.
func TestFaultStickyShellKilledMidCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon(nil)
	c := e.dial(t)
	ctx := context.Background()
	if r, err := c.Run(ctx, &client.Request{Session: "s", Script: "STATE=kept"}, 0); err != nil || !r.Success() {
		t.Fatalf("setting state: %v %v", r, err)
	}
	call := proctest.NewMarker()
	out := newSignalWriter("started\n")
	p, err := c.Start(ctx, &client.Request{Session: "s", Script: "echo started; sleep 300; echo not reached",
		Env: []string{"MTI_CALL=" + call}}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.waitSeen(t, cliBound)
	// The sticky session's shell runs the command itself: it is the
	// parent of the call's sleep, and a child of the daemon.
	// The sleep shows the marker only once it has exec'd, which may come
	// after "started": /proc gives no event for that, so poll.
	shell := 0
	for deadline := time.Now().Add(dieBound); shell <= 1 && time.Now().Before(deadline); {
		for _, pid := range proctest.Marked("MTI_CALL", call) {
			if pp := parentOf(pid); pp > 1 && parentOf(pp) == d.pid() {
				shell = pp
			}
		}
		if shell <= 1 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if shell <= 1 {
		t.Fatalf("no sticky session shell found (call PID %d)", p.PID)
	}
	if err := syscall.Kill(shell, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	res, err := p.Wait()
	t.Logf("the call: %v, %v", res, err)
	if err == nil && !res.SessionLost && res.Signal == 0 {
		t.Errorf("result %v, want the session reported lost", res)
	}
	proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)
	r, err := c.Run(ctx, &client.Request{Session: "s", Script: `echo "state=${STATE-none}"`}, 0)
	if err != nil || !r.Success() || string(r.Stdout) != "state=none\n" {
		t.Fatalf("the next call on the name: %v %v", r, err)
	}
}
