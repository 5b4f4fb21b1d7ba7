//go:build linux

package integration

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
)

// loadCallsFlag sets the calls per client of TestLoad. The full 100 take
// about 8 s on two cores, 22 s under -race, so CI runs them in full.
var loadCallsFlag = flag.Int("load-calls", 100, "calls per client in TestLoad")

// Shape of TestLoad.
const (
	loadClients  = 64
	loadSessions = 8
	loadDeadline = 10 * time.Minute // for the whole run: generous, to catch hangs only
	megSeq       = 160000           // `seq 1 megSeq` prints about 1 MB
)

// loadCall is one call of TestLoad and what it must give.
type loadCall struct {
	kind           string
	req            *client.Request
	run            bool // through Run rather than Exec
	stdout, stderr string
	code           int
	timedOut       bool
	notFound       bool
}

// loadMix returns the j-th call of client i: builtins, external programs,
// a 1 MB output, failures with exit codes, a command not found, a timeout.
func loadMix(i, j int, seqOut string) loadCall {
	id := fmt.Sprintf("c%d-%d", i, j)
	switch (i + j*7) % 20 {
	case 0, 1, 2, 3:
		return loadCall{kind: "builtin", run: j%2 == 0,
			req:    &client.Request{Script: fmt.Sprintf(`echo "%s"; printf 'e\0%%s' %s >&2`, id, id)},
			stdout: id + "\n", stderr: "e\x00" + id}
	case 4, 5, 6:
		return loadCall{kind: "builtin", req: &client.Request{Argv: []string{"printf", "%s|", id, "a b", ""}},
			stdout: id + "|a b||"}
	case 7, 8, 9:
		in := strings.Repeat(id+"\x00\xff\n", 40)
		return loadCall{kind: "external", req: &client.Request{Argv: []string{"cat"}, Stdin: strings.NewReader(in)}, stdout: in}
	case 10, 11:
		return loadCall{kind: "external", run: true, req: &client.Request{Argv: []string{"/bin/echo", id, "x"}}, stdout: id + " x\n"}
	case 12:
		return loadCall{kind: "1MB", req: &client.Request{Script: "seq 1 " + strconv.Itoa(megSeq)}, stdout: seqOut}
	case 13, 14:
		code := j%120 + 1
		return loadCall{kind: "failure", req: &client.Request{Script: fmt.Sprintf("echo %s >&2; exit %d", id, code)},
			stderr: id + "\n", code: code}
	case 15, 16:
		return loadCall{kind: "failure", req: &client.Request{Argv: []string{"sh", "-c", "printf %s \"$1\"; exit 3", "sh", id}},
			stdout: id, code: 3}
	case 17:
		return loadCall{kind: "not found", req: &client.Request{Argv: []string{"no-such-program-" + id}}, notFound: true}
	case 18:
		return loadCall{kind: "builtin", req: &client.Request{Script: fmt.Sprintf("f() { return %d; }; f", j%5)}, code: j % 5}
	default:
		return loadCall{kind: "timeout", req: &client.Request{Argv: []string{"sleep", "30"}, Timeout: 100 * time.Millisecond},
			timedOut: true}
	}
}

// do runs the call and returns a description of any difference from what
// it must give.
func (lc loadCall) do(ctx context.Context, c *client.Client) error {
	var stdout, stderr bytes.Buffer
	var res *client.Result
	var err error
	if lc.run {
		var rr *client.RunResult
		rr, err = c.Run(ctx, lc.req, 0)
		if rr != nil {
			res = &rr.Result
			stdout.Write(rr.Stdout)
			stderr.Write(rr.Stderr)
		}
	} else {
		res, err = c.Exec(ctx, lc.req, &stdout, &stderr)
	}
	switch {
	case lc.notFound:
		if !errors.Is(err, client.ErrNotFound) {
			return fmt.Errorf("%v, %v: want not found", res, err)
		}
		return nil
	case err != nil:
		return err
	case lc.timedOut:
		if !res.TimedOut || res.Signal != syscall.SIGTERM {
			return fmt.Errorf("%v, want timed out by SIGTERM", res)
		}
	case res.ExitCode != lc.code || res.Signal != 0 || res.TimedOut || res.Cancelled || res.SessionLost:
		return fmt.Errorf("%v, want exit status %d", res, lc.code)
	}
	if stdout.String() != lc.stdout {
		return fmt.Errorf("stdout of %d bytes %.60q, want %d bytes %.60q", stdout.Len(), stdout.String(), len(lc.stdout), lc.stdout)
	}
	if stderr.String() != lc.stderr {
		return fmt.Errorf("stderr %.60q, want %.60q", stderr.String(), lc.stderr)
	}
	return nil
}

// TestLoad: 64 concurrent clients, each with its own connection, make 100
// mixed calls each on a pool of 8 sessions recycled every 50 calls; every
// result is checked byte for byte, the pool never exceeds 8 sessions, and
// the figures are logged: calls/s, latency percentiles, and the queue
// while saturated (C10).
func TestLoad(t *testing.T) {
	t.Parallel()
	perClient := max(*loadCallsFlag, 1)
	e := newEnv(t)
	// Sessions are recycled every 50 calls, so recycling happens under load
	// too (about 128 times).
	e.startDaemon([]string{"--max-sessions", strconv.Itoa(loadSessions), "--min-idle", "2", "--queue-timeout", "5m",
		"--max-uses", "50", "--log-level", "info"})
	var seq strings.Builder
	for i := 1; i <= megSeq; i++ {
		seq.WriteString(strconv.Itoa(i))
		seq.WriteByte('\n')
	}
	seqOut := seq.String()
	ctx, cancel := context.WithTimeout(context.Background(), loadDeadline)
	defer cancel()

	watcher := e.dial(t)
	stopWatch := make(chan struct{})
	watched := make(chan loadWatch, 1)
	go func() { watched <- watchPool(ctx, watcher, stopWatch) }()

	type kindStats struct {
		lat []time.Duration
	}
	var mu sync.Mutex
	byKind := map[string]*kindStats{}
	var all []time.Duration
	errs := make(chan error, loadClients*perClient)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range loadClients {
		c := e.dial(t)
		wg.Go(func() {
			for j := range perClient {
				lc := loadMix(i, j, seqOut)
				t0 := time.Now()
				err := lc.do(ctx, c)
				d := time.Since(t0)
				if err != nil {
					errs <- fmt.Errorf("client %d call %d (%s): %w", i, j, lc.kind, err)
					continue
				}
				mu.Lock()
				if byKind[lc.kind] == nil {
					byKind[lc.kind] = &kindStats{}
				}
				byKind[lc.kind].lat = append(byKind[lc.kind].lat, d)
				all = append(all, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopWatch)
	w := <-watched
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 20 {
			t.Error(err)
		}
	}
	if n > 20 {
		t.Errorf("... %d failed calls in all", n)
	}
	if ctx.Err() != nil {
		t.Fatalf("the load did not finish within %v", loadDeadline)
	}
	total := loadClients * perClient
	slices.Sort(all)
	t.Logf("%d clients x %d calls on %d sessions (race %v): %d calls in %v, %.0f calls/s; latency p50 %v p90 %v p99 %v max %v",
		loadClients, perClient, loadSessions, raceEnabled, total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(),
		percentile(all, 50), percentile(all, 90), percentile(all, 99), all[len(all)-1])
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range byKind {
			if !yield(k) {
				return
			}
		}
	}) {
		l := byKind[k].lat
		slices.Sort(l)
		t.Logf("  %-9s %5d calls: p50 %v p90 %v p99 %v", k, len(l), percentile(l, 50), percentile(l, 90), percentile(l, 99))
	}
	t.Logf("saturated pool: up to %d calls queued and %d sessions busy (%d samples); largest pool seen %d sessions",
		w.maxQueue, w.maxBusy, w.samples, w.maxSessions)
	st := status(t, watcher)
	t.Logf("status: queue wait p50 %v p99 %v max %v; calls ok %d failed %d timed out %d rejected %d; sessions spawned %d recycled %d replaced %d",
		st.Pool.QueueWaitP50, st.Pool.QueueWaitP99, st.Pool.QueueWaitMax, st.Calls.OK, st.Calls.Failed, st.Calls.TimedOut,
		st.Calls.Rejected, st.Pool.SessionsSpawned, st.Pool.SessionsRecycled, st.Pool.SessionsReplaced)
	if w.err != nil {
		t.Error(w.err)
	}
	if w.maxSessions > loadSessions {
		t.Errorf("the pool had %d sessions at once, over --max-sessions %d", w.maxSessions, loadSessions)
	}
	if want := int64(len(byKind["timeout"].lat)); st.Calls.TimedOut != want {
		t.Errorf("Status counts %d timed out calls, want %d", st.Calls.TimedOut, want)
	}
	if w.maxQueue == 0 {
		t.Errorf("no call ever queued: %d clients did not saturate %d sessions", loadClients, loadSessions)
	}
}

// loadWatch is what watchPool saw.
type loadWatch struct {
	samples, maxQueue, maxBusy, maxSessions int
	err                                     error
}

// watchPool samples Status until stop closes.
func watchPool(ctx context.Context, c *client.Client, stop <-chan struct{}) loadWatch {
	var w loadWatch
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return w
		case <-tick.C:
		}
		st, err := c.Status(ctx)
		if err != nil {
			w.err = fmt.Errorf("status during the load: %w", err)
			return w
		}
		p := st.Pool
		w.samples++
		w.maxQueue = max(w.maxQueue, p.QueueLength)
		w.maxBusy = max(w.maxBusy, p.SessionsBusy)
		w.maxSessions = max(w.maxSessions, p.SessionsBusy+p.SessionsIdle+p.SessionsStarting+p.StickySessions)
	}
}
