package benchcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/daemonctl"
)

// Bounds of the private daemon's start and stop.
const (
	daemonStartTimeout = 60 * time.Second // --init may be slow
	daemonStopTimeout  = 30 * time.Second
)

// run measures both sides and prints the report.
func (o *options) run(ctx context.Context, st Streams, argv []string) error {
	wd, err := os.Getwd()
	if err != nil {
		return cli.Exit(cli.ExitFailed, fmt.Errorf("working directory: %w", err))
	}
	d, err := startPrivate(ctx, wd, o.init, o.concurrency)
	if err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	defer d.stop(st)

	c, err := client.Dial(ctx, client.WithSocket(d.socket))
	if err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	defer c.Close()
	req := &client.Request{Argv: argv, Script: o.script, BaseDir: wd, BaseEnv: os.Environ(), Session: o.session}
	callDaemon := func(ctx context.Context) (bool, error) {
		res, err := c.Exec(ctx, req, nil, nil)
		if err != nil {
			return false, err
		}
		return res.Success(), nil
	}
	spawn := o.spawner(argv, wd)

	prog := newProgress(st.Err)
	defer prog.close()
	// Untimed: one call per caller on each side, which also makes the
	// daemon start its sessions and the spawns' files cached.
	for _, side := range []func(context.Context) (bool, error){callDaemon, spawn} {
		if _, err := measure(ctx, o.concurrency, o.concurrency, 0, side, nil); err != nil {
			return cli.Exit(cli.ExitFailed, fmt.Errorf("warm-up: %w", err))
		}
	}
	daemonSide, spawnSide, err := interleave(ctx, o.n, o.concurrency, o.gap, callDaemon, spawn, prog.phase("daemon and spawn", 2*o.n))
	if err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	prog.close()
	r := report{n: o.n, concurrency: o.concurrency, daemon: daemonSide, spawn: spawnSide}
	if o.json {
		err = r.writeJSON(st.Out)
	} else {
		err = r.writeText(st.Out, o.describe(argv))
	}
	if err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	if daemonSide.failed+spawnSide.failed > 0 {
		fmt.Fprintf(st.Err, "mothreads bench: the command did not succeed in %d daemon calls and %d spawns\n", daemonSide.failed, spawnSide.failed)
	}
	return nil
}

// spawner returns the spawn side's call.
func (o *options) spawner(argv []string, wd string) func(context.Context) (bool, error) {
	var name string
	var args []string
	switch {
	case o.init == "" && !o.scriptSet:
		name, args = argv[0], argv[1:]
	case o.init == "":
		name, args = "bash", []string{"-c", o.script}
	case o.scriptSet:
		name, args = "bash", []string{"-c", o.init + "\n" + o.script}
	default:
		name, args = "bash", append([]string{"-c", o.init + "\n\"$@\"", "bash"}, argv...)
	}
	return func(ctx context.Context) (bool, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = wd
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ctx.Err() == nil {
			return false, nil
		}
		return err == nil, err
	}
}

// describe names the command for the text report.
func (o *options) describe(argv []string) string {
	what := "-c " + strconv.Quote(o.script)
	if !o.scriptSet {
		what = "--"
		for _, a := range argv {
			what += " " + strconv.Quote(a)
		}
	}
	if o.init != "" {
		what += ", --init " + strconv.Quote(o.init)
	}
	if o.session != "" {
		what += ", --session " + strconv.Quote(o.session)
	}
	if o.gap != 0 {
		what += ", --gap " + o.gap.String()
	}
	return what
}

// side is one side's figures.
type side struct {
	latencies []time.Duration // sorted
	wall      time.Duration   // time spent calling (gaps included, turns of the other side not)
	failed    int
}

// add appends another batch's figures (latencies unsorted until sort).
func (s *side) add(b side) {
	s.latencies = append(s.latencies, b.latencies...)
	s.wall += b.wall
	s.failed += b.failed
}

// roundPerCaller is how many calls each caller makes on one side before the
// other side takes its turn: enough that most calls of a side follow a call
// of the same side (back to back), few enough that both sides see the same
// machine.
const roundPerCaller = 20

// interleave measures n calls of a and n calls of b with c callers, in
// turns of c×roundPerCaller calls (one call each when c is 1 and a gap is
// set, as then every call follows a pause anyway). gap is a pause after
// each call, within a side's turn. tick, when not nil, is called after each
// call of either side.
func interleave(ctx context.Context, n, c int, gap time.Duration, a, b func(context.Context) (bool, error), tick func()) (sa, sb side, err error) {
	round := c * roundPerCaller
	if c == 1 && gap > 0 {
		round = 1
	}
	for done := 0; done < n; {
		k := min(round, n-done)
		for i, call := range []func(context.Context) (bool, error){a, b} {
			s, err := measure(ctx, k, c, gap, call, tick)
			if err != nil {
				return side{}, side{}, fmt.Errorf("%s: %w", [2]string{"through the daemon", "spawning"}[i], err)
			}
			[2]*side{&sa, &sb}[i].add(s)
		}
		done += k
	}
	sortDurations(sa.latencies)
	sortDurations(sb.latencies)
	return sa, sb, nil
}

// measure runs call n times from c goroutines, pausing gap after each call,
// and returns the sorted latencies; it stops at the first error. tick, when
// not nil, is called after each call.
func measure(ctx context.Context, n, c int, gap time.Duration, call func(context.Context) (bool, error), tick func()) (side, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lat := make([]time.Duration, n)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range min(c, n) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				t := time.Now()
				ok, err := call(ctx)
				lat[i] = time.Since(t)
				if err != nil {
					cancel(err)
					return
				}
				if !ok {
					failed.Add(1)
				}
				if tick != nil {
					tick()
				}
				if gap > 0 {
					pause(ctx, gap)
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return side{}, err
	}
	sortDurations(lat)
	return side{latencies: lat, wall: wall, failed: int(failed.Load())}, nil
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// private is bench's own daemon.
type private struct {
	dir, socket string
	child       *daemonctl.Child
}

// startPrivate starts a private daemon in a new temporary directory, with
// the sessions' init script init (may be empty) and at least minIdle warm
// sessions, and waits until it serves.
func startPrivate(ctx context.Context, wd, init string, minIdle int) (*private, error) {
	dir, err := os.MkdirTemp("", "mtb")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	p := &private{dir: dir, socket: filepath.Join(dir, "d.sock")}
	args := []string{
		"--min-idle", strconv.Itoa(minIdle),
		"--max-sessions", strconv.Itoa(max(minIdle, 4) + 2), // room for a sticky session
		"--exit-idle", "1m", // in case bench dies without stopping it
		"--log-level", "warn",
	}
	if init != "" {
		args = append(args, "--init", init)
	}
	p.child, err = daemonctl.Start(daemonctl.Spec{Socket: p.socket, Args: args, LogFile: filepath.Join(dir, "d.log"), Dir: wd})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.child.WaitServing(ctx, daemonStartTimeout); err != nil {
		p.stop(Streams{})
		return nil, fmt.Errorf("the private daemon: %w", err)
	}
	return p, nil
}

// stop stops the private daemon (SIGTERM: an ordered shutdown; SIGKILL if
// it does not exit in time) and removes its directory.
func (p *private) stop(st Streams) {
	defer os.RemoveAll(p.dir)
	if p.child.Stop(os.Interrupt) != nil {
		return // exited already
	}
	select {
	case <-p.child.Done():
	case <-time.After(daemonStopTimeout):
		p.child.Stop(os.Kill)
		<-p.child.Done()
	}
	if err := p.child.Err(); err != nil && st.Err != nil {
		fmt.Fprintf(st.Err, "mothreads bench: the private daemon ended badly: %v\n%s\n", err, p.child.LogTail(2000))
	}
}
