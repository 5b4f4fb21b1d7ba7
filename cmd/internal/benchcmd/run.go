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
	d, err := o.startDaemon(ctx, wd)
	if err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	defer d.stop(st)

	c, err := client.Dial(ctx, client.WithSocket(d.socket))
	if err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	defer c.Close()
	req := &client.Request{Argv: argv, Script: o.script, BaseDir: wd, BaseEnv: os.Environ()}
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
		if _, err := measure(ctx, o.concurrency, o.concurrency, side, nil); err != nil {
			return cli.Exit(cli.ExitFailed, fmt.Errorf("warm-up: %w", err))
		}
	}
	daemonSide, err := measure(ctx, o.n, o.concurrency, callDaemon, prog.phase("daemon", o.n))
	if err != nil {
		return cli.Exit(cli.ExitFailed, fmt.Errorf("through the daemon: %w", err))
	}
	spawnSide, err := measure(ctx, o.n, o.concurrency, spawn, prog.phase("spawn", o.n))
	if err != nil {
		return cli.Exit(cli.ExitFailed, fmt.Errorf("spawning: %w", err))
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
	return what
}

// side is one side's figures.
type side struct {
	latencies []time.Duration // sorted
	wall      time.Duration
	failed    int
}

// measure runs call n times from c goroutines and returns the sorted
// latencies; it stops at the first error. tick, when not nil, is called
// after each call.
func measure(ctx context.Context, n, c int, call func(context.Context) (bool, error), tick func()) (side, error) {
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

// private is bench's own daemon.
type private struct {
	dir, socket string
	child       *daemonctl.Child
}

// startDaemon starts the private daemon in a new temporary directory and
// waits until it serves.
func (o *options) startDaemon(ctx context.Context, wd string) (*private, error) {
	dir, err := os.MkdirTemp("", "mtb")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	p := &private{dir: dir, socket: filepath.Join(dir, "d.sock")}
	args := []string{
		"--min-idle", strconv.Itoa(o.concurrency),
		"--max-sessions", strconv.Itoa(max(o.concurrency, 4)),
		"--exit-idle", "1m", // in case bench dies without stopping it
		"--log-level", "warn",
	}
	if o.init != "" {
		args = append(args, "--init", o.init)
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
