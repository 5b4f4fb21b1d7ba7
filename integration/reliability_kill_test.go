//go:build linux

package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/internal/proctest"
)

// TestFaultDaemonKilledUnderLoad kills -9 the daemon while 24 clients keep
// it busy with every kind of call, sessions are recycled every 3 calls (so
// some are starting or stopping), and commands leave background children:
// whatever state each process was in, nothing started by the daemon may
// survive it (C8).
func TestFaultDaemonKilledUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.serveDaemon([]string{"--max-sessions", "6", "--min-idle", "3", "--max-uses", "3"})
	c := e.dial(t)
	const clients = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	calls := 0
	enough := make(chan struct{})
	for i := range clients {
		wg.Go(func() {
			for j := 0; ; j++ {
				var req *client.Request
				switch j % 4 {
				case 0:
					req = &client.Request{Script: "sleep 300 & sleep 300 & echo x; wait"}
				case 1:
					req = &client.Request{Argv: []string{"bash", "-c", "sleep 300 & echo y; wait"}}
				case 2:
					req = &client.Request{Script: fmt.Sprintf("echo %d %d", i, j)}
				default:
					req = &client.Request{Argv: []string{"cat"}, Stdin: strings.NewReader(fmt.Sprint(i))}
				}
				bound := cliBound
				// The calls that wait for their sleeps are cut short, except
				// the first of two clients, which are still running when the
				// daemon is killed (a loaded machine may not start any sleep
				// within the short bounds).
				if j%4 < 2 && (j > 0 || i >= 2) {
					bound = time.Duration(100+j%5*50) * time.Millisecond
				}
				ctx, cancel := context.WithTimeout(context.Background(), bound)
				// Cut by its deadline, or failing once the daemon is dead.
				_, err := c.Run(ctx, req, 0)
				cancel()
				mu.Lock()
				if err == nil {
					if calls++; calls == clients {
						close(enough)
					}
				}
				mu.Unlock()
				select {
				case <-d.done:
					return
				default:
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(cliBound):
		t.Fatalf("fewer than %d calls completed in %v", clients, cliBound)
	}
	// And background children running: only /proc tells.
	deadline := time.Now().Add(cliBound)
	for n := 0; n < 3; n = countSleeps(e.marker) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d sleeps running after %v", n, cliBound)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.done
	wg.Wait()
	mu.Lock()
	t.Logf("killed the daemon after %d completed calls", calls)
	mu.Unlock()
	// Sessions, commands, grandchildren and the reaper: newEnv's cleanup
	// checks the same marker, but this names the test that left them.
	proctest.AssertNoLeftovers(t, proctest.MarkerVar, e.marker, dieBound)
}

// countSleeps counts the sleep processes marked with the env's marker.
func countSleeps(marker string) int {
	n := 0
	for _, pid := range proctest.Marked(proctest.MarkerVar, marker) {
		if strings.HasPrefix(proctest.Cmdline(pid), "sleep ") {
			n++
		}
	}
	return n
}
