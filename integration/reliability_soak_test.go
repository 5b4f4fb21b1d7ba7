//go:build linux

package integration

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
)

// soakCallsFlag sets the calls of TestSoak; 0 means 1,000, or 20,000 when
// MOTHREADS_SOAK=1 (go test -run Soak ./integration).
var soakCallsFlag = flag.Int("soak-calls", 0, "sequential calls in TestSoak (0: 1000, or 20000 with MOTHREADS_SOAK=1)")

// Shape and tolerances of TestSoak. The figures are taken with the pool
// settled (no call in flight, every session ready with its children
// forked), so fds and processes must match exactly but for a session's
// spare child being forked again; goroutines may differ by the transient
// ones of gRPC and the runtime; RSS by what the garbage collector has not
// returned yet. Under -race the daemon's RSS grows with every goroutine
// and lock it ever made (the detector's shadow memory and clocks: +27 MB
// over 20,000 calls, against +1.2 MB without it), so the slack is wider.
const (
	soakMaxUses        = 50
	soakFDSlack        = 4
	soakProcSlack      = 2
	soakGoroutineSlack = 6
	soakRSSSlackKB     = 8 << 10
	soakRaceRSSSlackKB = 64 << 10
)

// soakFigures are the daemon's resources at one moment.
type soakFigures struct {
	fds, procs, goroutines int
	rssKB                  int64
	spawned, recycled      int64
}

func (f soakFigures) String() string {
	return fmt.Sprintf("fds %d, child processes %d, goroutines %d, VmRSS %d kB (sessions spawned %d, recycled %d)",
		f.fds, f.procs, f.goroutines, f.rssKB, f.spawned, f.recycled)
}

// settledFigures waits until the pool is idle, with its one session
// started, and four samples 50 ms apart agree, then returns the figures. Nothing reports that a session has
// forked its spare child again, so this polls, within cliBound.
func settledFigures(t *testing.T, d *daemon, c *client.Client) soakFigures {
	t.Helper()
	sample := func() (soakFigures, string) {
		st := status(t, c)
		f := soakFigures{fds: openFDs(t, d.pid()), procs: len(descendants(d.pid())),
			spawned: st.Pool.SessionsSpawned, recycled: st.Pool.SessionsRecycled}
		key := fmt.Sprintf("%d %d %d %d %d %d %d", f.fds, f.procs, st.Pool.SessionsIdle, st.Pool.SessionsBusy,
			st.Pool.SessionsStarting, st.Calls.InFlight, st.Pool.SessionsSpawned)
		// The soak keeps one session idle: until the keeper has replaced a
		// recycled session, the pool has not settled (seen under load).
		if st.Pool.SessionsBusy+st.Pool.SessionsStarting+int(st.Calls.InFlight) > 0 || st.Pool.SessionsIdle < 1 {
			key = "busy"
		}
		return f, key
	}
	deadline := time.Now().Add(cliBound)
	_, last := sample()
	same := 0 // samples in a row equal to last
	for {
		time.Sleep(50 * time.Millisecond) // polling: see above
		f, key := sample()
		if key == last {
			same++
		} else {
			same = 0
		}
		if same >= 3 && key != "busy" { // unchanged for 150 ms
			f.goroutines = d.goroutines(t)
			f.rssKB = procStatusKB(t, d.pid(), "VmRSS")
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not settle within %v (last %q)", cliBound, key)
		}
		last = key
	}
}

// soakCall makes the i-th call of the soak and checks its result.
func soakCall(t *testing.T, c *client.Client, i int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliBound)
	defer cancel()
	var stdout, stderr bytes.Buffer
	var res *client.Result
	var err error
	want, code, timeout := fmt.Sprintf("%d\n", i), 0, false
	switch {
	case i%500 == 499:
		res, err = c.Exec(ctx, &client.Request{Script: fmt.Sprintf("echo %d; exec sleep 30", i), Timeout: 50 * time.Millisecond}, &stdout, &stderr)
		timeout = true
	case i%4 == 0:
		var r *client.RunResult
		r, err = c.Run(ctx, &client.Request{Script: fmt.Sprintf("echo %d; echo e >&2; exit %d", i, i%3)}, 0)
		if r != nil {
			res = &r.Result
			stdout.Write(r.Stdout)
			stderr.Write(r.Stderr)
		}
		code = i % 3
	case i%4 == 1:
		res, err = c.Exec(ctx, &client.Request{Argv: []string{"/bin/echo", strconv.Itoa(i)}, Env: []string{"SOAK=1"}}, &stdout, &stderr)
	case i%4 == 2:
		res, err = c.Exec(ctx, &client.Request{Argv: []string{"cat"}, Stdin: strings.NewReader(want)}, &stdout, &stderr)
	default:
		res, err = c.Exec(ctx, &client.Request{Script: fmt.Sprintf("cd /tmp; x=%d; echo $x; echo e >&2; exit %d", i, i%3)}, &stdout, &stderr)
		code = i % 3
	}
	wantErr := ""
	if i%4 == 0 || i%4 == 3 {
		wantErr = "e\n"
	}
	switch {
	case err != nil:
		t.Fatalf("call %d: %v", i, err)
	case timeout && !res.TimedOut:
		t.Fatalf("call %d: %v, want timed out", i, res)
	case !timeout && (res.ExitCode != code || res.Signal != 0 || res.TimedOut):
		t.Fatalf("call %d: %v, want exit status %d", i, res, code)
	case timeout && !strings.HasPrefix(want, stdout.String()):
		// On a loaded machine the timeout may strike before the echo.
		t.Fatalf("call %d: stdout %q, want %q or a part of it", i, stdout.String(), want)
	case !timeout && stdout.String() != want:
		t.Fatalf("call %d: stdout %q, want %q", i, stdout.String(), want)
	case !timeout && stderr.String() != wantErr:
		t.Fatalf("call %d: stderr %q, want %q", i, stderr.String(), wantErr)
	}
}

// TestSoak makes sequential calls (1,000 by default, 20,000 with
// MOTHREADS_SOAK=1 or -soak-calls) with sessions recycled every 50 uses,
// and requires the daemon's open fds, child processes, goroutines (counted
// from its SIGUSR1 dump) and RSS to be the same at the end as after the
// warm-up, within the slack stated above; Status must show the recycling.
func TestSoak(t *testing.T) {
	t.Parallel()
	calls := *soakCallsFlag
	if calls == 0 {
		calls = 1000
		if os.Getenv("MOTHREADS_SOAK") == "1" {
			calls = 20000
		}
	}
	e := newEnv(t)
	// One session at most, so that the pool is in the same shape whenever
	// it settles (with two, the second is started only on demand).
	d := e.startDaemon([]string{"--max-sessions", "1", "--min-idle", "1", "--max-uses", strconv.Itoa(soakMaxUses),
		"--log-level", "info"})
	c := e.dial(t)
	warm := max(calls/10, 200)
	for i := range warm {
		soakCall(t, c, i)
	}
	start := settledFigures(t, d, c)
	began := time.Now()
	for i := warm; i < calls; i++ {
		soakCall(t, c, i)
	}
	elapsed := time.Since(began)
	end := settledFigures(t, d, c)
	t.Logf("%d calls (race %v), %d after the warm-up in %v (%.0f calls/s)", calls, raceEnabled, calls-warm,
		elapsed.Round(time.Millisecond), float64(calls-warm)/elapsed.Seconds())
	t.Logf("after the warm-up: %v", start)
	t.Logf("at the end:        %v", end)
	st := status(t, c)
	t.Logf("status: calls ok %d failed %d timed out %d; latency p50 %v p99 %v; sessions replaced %d",
		st.Calls.OK, st.Calls.Failed, st.Calls.TimedOut, st.Calls.LatencyP50, st.Calls.LatencyP99, st.Pool.SessionsReplaced)
	check := func(what string, from, to, slack int64) {
		if to > from+slack || to < from-slack {
			t.Errorf("%s: %d after the warm-up, %d at the end (slack %d)", what, from, to, slack)
		}
	}
	check("open fds", int64(start.fds), int64(end.fds), soakFDSlack)
	check("child processes", int64(start.procs), int64(end.procs), soakProcSlack)
	check("goroutines", int64(start.goroutines), int64(end.goroutines), soakGoroutineSlack)
	rssSlack := int64(soakRSSSlackKB)
	if raceEnabled {
		rssSlack = soakRaceRSSSlackKB
	}
	if end.rssKB > start.rssKB+rssSlack {
		t.Errorf("VmRSS grew from %d kB to %d kB (slack %d kB)", start.rssKB, end.rssKB, rssSlack)
	}
	if want := int64(calls/soakMaxUses) - 2; st.Pool.SessionsRecycled < want {
		t.Errorf("Status shows %d sessions recycled, want at least %d for %d calls at --max-uses %d",
			st.Pool.SessionsRecycled, want, calls, soakMaxUses)
	}
}
