//go:build linux

package integration

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/internal/proctest"
)

// fleetDaemon is one daemon of a loopback fleet: it serves TCP with mutual
// TLS on addr, and its sessions export MT_D=<name>, so that a call's output
// says which daemon ran it.
type fleetDaemon struct {
	name, addr string
	cmd        *exec.Cmd
	logs       *proctest.Buffer
	done       chan struct{}
}

func (e *env) startFleetDaemon(t *testing.T, pki *testPKI, name, addr string) *fleetDaemon {
	t.Helper()
	d := &fleetDaemon{name: name, addr: addr, logs: new(proctest.Buffer), done: make(chan struct{})}
	d.cmd = exec.Command(bin.mothreadsd, "--socket", filepath.Join(e.dir, name+".sock"),
		"--listen", addr, "--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--tls-client-ca", pki.caFile,
		"--min-idle", "2", "--max-sessions", "32", "--init", "export MT_D="+name, "--kill-grace", "500ms", "--drain-timeout", "20s")
	d.cmd.Env = e.environ()
	d.cmd.Stderr = d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("%s log:\n%s", name, d.logs)
		}
	})
	if !d.logs.WaitFor("health SERVING", daemonStartBound, d.done) {
		t.Fatalf("%s did not become ready:\n%s", name, d.logs)
	}
	return d
}

// whoRuns runs `echo $MT_D` as an isolated call (or in session) and
// returns the daemon's name.
func whoRuns(ctx context.Context, c *client.Client, session string) (string, error) {
	res, err := c.Run(ctx, &client.Request{Script: `echo "$MT_D"`, Session: session}, 0)
	if err != nil {
		return "", err
	}
	if !res.Success() {
		return "", fmt.Errorf("result %v, stderr %q", res.Result.String(), res.Stderr)
	}
	return strings.TrimSpace(string(res.Stdout)), nil
}

// spread runs n isolated calls from callers goroutines and returns how
// many each daemon ran, the failures, and the calls per second.
func spread(ctx context.Context, c *client.Client, n, callers int, onCall func(int)) (map[string]int, []error, float64) {
	var mu sync.Mutex
	counts := map[string]int{}
	var errs []error
	var next atomic.Int64
	began := time.Now()
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				who, err := whoRuns(ctx, c, "")
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("call %d: %w", i, err))
				} else {
					counts[who]++
				}
				mu.Unlock()
				if onCall != nil {
					onCall(i)
				}
			}
		}()
	}
	wg.Wait()
	return counts, errs, float64(n) / time.Since(began).Seconds()
}

// TestFleet is issue 17 on loopback: three daemons with mutual TLS behind
// one client (a static list through gRPC's resolver, round_robin with
// health checks, ring_hash on the session name).
func TestFleet(t *testing.T) {
	e := newEnv(t)
	pki := newPKI(t, e.dir, "runner.example")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var ds []*fleetDaemon
	for i := range 3 {
		ds = append(ds, e.startFleetDaemon(t, pki, "d"+strconv.Itoa(i), freePort(t)))
	}
	dial := func(addrs ...string) *client.Client {
		c, err := client.Dial(ctx, client.WithTargets(addrs...), client.WithTLS(pki.clientTLS()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	const calls, callers = 2000, 8

	// The same load on one daemon, then on three, in the same run.
	one := dial(ds[0].addr)
	if _, errs, _ := spread(ctx, one, 2*callers, callers, nil); len(errs) > 0 {
		t.Fatalf("warm-up: %v", errs[0])
	}
	_, errs, rate1 := spread(ctx, one, calls, callers, nil)
	if len(errs) > 0 {
		t.Fatalf("one daemon: %d failures, first %v", len(errs), errs[0])
	}
	fleet := dial(ds[0].addr, ds[1].addr, ds[2].addr)
	spread(ctx, fleet, 2*callers, callers, nil)
	counts, errs, rate3 := spread(ctx, fleet, calls, callers, nil)
	if len(errs) > 0 {
		t.Fatalf("three daemons: %d failures, first %v", len(errs), errs[0])
	}
	for _, d := range ds {
		if counts[d.name] < calls/5 {
			t.Errorf("%s ran %d of %d calls, want at least 20%%: %v", d.name, counts[d.name], calls, counts)
		}
	}
	t.Logf("isolated calls/s: one daemon %.0f, three daemons %.0f, ratio %.2f (%d callers, %d calls; spread %v)", rate1, rate3, rate3/rate1, callers, calls, counts)

	// 50 sticky sessions, each pinned to one daemon.
	pinned := map[string]string{}
	for i := range 50 {
		s := fmt.Sprintf("s%02d", i)
		first, err := whoRuns(ctx, fleet, s)
		if err != nil {
			t.Fatalf("session %s: %v", s, err)
		}
		for range 2 {
			if again, err := whoRuns(ctx, fleet, s); err != nil || again != first {
				t.Errorf("session %s: first on %s, then %q (%v)", s, first, again, err)
			}
		}
		pinned[s] = first
	}
	perDaemon := map[string]int{}
	for _, d := range pinned {
		perDaemon[d]++
	}
	t.Logf("sticky sessions per daemon: %v", perDaemon)

	// One daemon gets SIGTERM in the middle of a run: no isolated call
	// fails.
	victim := ds[1]
	for _, d := range ds {
		if perDaemon[d.name] > 0 {
			victim = d
			break
		}
	}
	var once sync.Once
	counts, errs, _ = spread(ctx, fleet, calls, callers, func(i int) {
		if i >= calls/4 {
			once.Do(func() { victim.cmd.Process.Signal(syscall.SIGTERM) })
		}
	})
	if len(errs) > 0 {
		t.Errorf("%d isolated calls failed while %s drained, first: %v", len(errs), victim.name, errs[0])
	}
	select {
	case <-victim.done:
	case <-time.After(daemonStopBound):
		t.Fatalf("%s did not exit after SIGTERM", victim.name)
	}
	t.Logf("isolated calls with %s stopped mid-run: %v", victim.name, counts)

	// Its sticky sessions are reported lost; the others carry on.
	for s, d := range pinned {
		who, err := whoRuns(ctx, fleet, s)
		switch {
		case d == victim.name && !errors.Is(err, client.ErrSessionLost):
			t.Errorf("session %s of the stopped %s: %q, %v; want ErrSessionLost", s, d, who, err)
		case d != victim.name && (err != nil || who != d):
			t.Errorf("session %s of %s: %q, %v", s, d, who, err)
		}
	}

	// Restarted, it gets traffic again.
	restarted := e.startFleetDaemon(t, pki, victim.name, victim.addr)
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts, errs, _ := spread(ctx, fleet, 60, callers, nil)
		if len(errs) > 0 {
			t.Fatalf("after the restart: %v", errs[0])
		}
		if counts[restarted.name] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted %s got no call in 60 s: %v", restarted.name, counts)
		}
	}

	// The client certificate's identity is counted in status (by the
	// restarted daemon, through a new client: the first one's connection
	// to the stopped daemon may still wait out gRPC's reconnect backoff).
	st, err := dial(restarted.addr).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Identities["runner.example"] == 0 {
		t.Errorf("status identities %v, want runner.example counted", st.Identities)
	}
	if !strings.Contains(ds[0].logs.String(), "identity=runner.example") {
		t.Errorf("no call logged with its identity")
	}
}
