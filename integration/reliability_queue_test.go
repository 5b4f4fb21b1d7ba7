//go:build linux

package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/internal/proctest"
)

// TestFaultQueuedCallsCancelled: with the only session busy, 40 queued
// calls are cancelled by their clients. Each returns the context's error,
// the queue empties (Status), the busy call is untouched, and calls queued
// afterwards run in order of arrival (C10).
func TestFaultQueuedCallsCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon([]string{"--max-sessions", "1", "--min-idle", "1"})
	c := e.dial(t)
	out := newSignalWriter("busy\n")
	release := e.dir + "/release"
	busy, err := c.Start(context.Background(), &client.Request{
		Script: fmt.Sprintf("echo busy; while [ ! -e %s ]; do sleep 0.05; done; echo freed", release),
	}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.waitSeen(t, cliBound)

	const queued = 40
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, queued)
	for i := range queued {
		wg.Go(func() {
			_, err := c.Run(ctx, &client.Request{Script: fmt.Sprintf("echo %d", i)}, 0)
			errs <- err
		})
	}
	waitStatus(t, c, "the calls queued", func(s *client.Status) bool { return s.Pool.QueueLength == queued })
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a cancelled queued call: %v, want context.Canceled", err)
		}
	}
	waitStatus(t, c, "an empty queue", func(s *client.Status) bool { return s.Pool.QueueLength == 0 })

	// Calls queued now run one by one, first come first served: their
	// start times (the daemon's clock) follow their arrival.
	var started [5]time.Time
	var wg2 sync.WaitGroup
	for i := range 5 {
		wg2.Go(func() {
			r, err := c.Run(context.Background(), &client.Request{Script: fmt.Sprintf("echo %d", i)}, 0)
			if err != nil || string(r.Stdout) != fmt.Sprintf("%d\n", i) {
				t.Errorf("call %d after the cancels: %v %v", i, r, err)
				return
			}
			started[i] = r.StartedAt
		})
		waitStatus(t, c, "the call queued", func(s *client.Status) bool { return s.Pool.QueueLength == i+1 })
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := busy.Wait()
	if err != nil || !res.Success() || out.String() != "busy\nfreed\n" {
		t.Errorf("the busy call: %v %v, output %q", res, err, out.String())
	}
	wg2.Wait()
	for i := 1; i < len(started); i++ {
		if !started[i].After(started[i-1]) {
			t.Errorf("queued call %d started at %v, not after call %d (%v): not in arrival order",
				i, started[i], i-1, started[i-1])
		}
	}
}

// TestFaultReaperKilled kills -9 the daemon's reaper (its lifeline process).
// Calls go on working, and an ordered shutdown (SIGTERM) still stops every
// session: the reaper is the fallback for a daemon that dies, not for one
// that stops.
func TestFaultReaperKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon(nil) // its cleanup requires exit 0 and no leftovers
	c := e.dial(t)
	reaper := 0
	for _, pid := range descendants(d.pid()) {
		if strings.Contains(proctest.Cmdline(pid), "mothreads-reaper") {
			reaper = pid
		}
	}
	if reaper == 0 {
		t.Fatalf("no reaper among the daemon's processes")
	}
	if err := syscall.Kill(reaper, syscall.SIGKILL); err != nil || !proctest.WaitGone(reaper, dieBound) {
		t.Fatalf("killing the reaper %d: %v", reaper, err)
	}
	for i := range 20 {
		req := &client.Request{Script: fmt.Sprintf("sleep 0.01 & echo %d", i)}
		if i%2 == 1 {
			req = &client.Request{Argv: []string{"/bin/echo", fmt.Sprint(i)}}
		}
		ctx, cancel := context.WithTimeout(context.Background(), cliBound)
		r, err := c.Run(ctx, req, 0)
		cancel()
		if err != nil || !r.Success() || string(r.Stdout) != fmt.Sprintf("%d\n", i) {
			t.Fatalf("call %d without a reaper: %v %v", i, r, err)
		}
	}
	if d.logs.WaitFor("reaper gone", 0, d.done) {
		t.Logf("the daemon logged that its reaper is gone")
	}
}
