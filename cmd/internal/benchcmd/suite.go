package benchcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Sizes of the suite's rows.
const (
	suiteN        = 300         // calls per side of the quick rows, unless -n
	suiteCLIMax   = 200         // at most this many CLI processes per side
	suiteInitMax  = 20          // spawns that pay a 100 ms init
	suiteBigBytes = 100_000_000 // the output of the throughput row
	suiteBigRuns  = 3           // transfers of it per side
	suiteGap      = 2 * time.Millisecond
	suiteSession  = "bench-suite"        // the sticky row's session
	suiteInit     = "sleep 0.1"          // the init row's --init
	suiteCallers  = 4                    // the concurrency row's callers
	overheadRatio = (0.38 + 0.08) / 0.38 // issue 10: 0.38 ms in-process, at most +0.08 ms through the daemon
)

// suite is one --suite run: its daemons, client and the rows so far.
type suite struct {
	ctx  context.Context
	n    int
	wd   string
	self string // this program, for the CLI row
	d    *private
	c    *client.Client
	rows []row
}

// runSuite measures every row and prints the table (or the JSON object).
// defaultN says that -n was not given: the quick rows then make suiteN
// calls per side.
func (o *options) runSuite(ctx context.Context, st Streams, defaultN bool) error {
	s := &suite{ctx: ctx, n: o.n}
	if defaultN {
		s.n = suiteN
	}
	var err error
	if s.wd, err = os.Getwd(); err != nil {
		return cli.Exit(cli.ExitFailed, fmt.Errorf("working directory: %w", err))
	}
	if s.self, err = os.Executable(); err != nil {
		return cli.Exit(cli.ExitFailed, fmt.Errorf("finding this program: %w", err))
	}
	m := machineNow(s.n)
	if s.d, err = startPrivate(ctx, s.wd, "", suiteCallers); err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	defer s.d.stop(st)
	if s.c, err = client.Dial(ctx, client.WithSocket(s.d.socket)); err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	defer s.c.Close()

	prog := newProgress(st.Err)
	defer prog.close()
	steps := []struct {
		name string
		run  func() (row, error)
	}{
		{"sticky session", s.sticky},
		{"isolated, 2 ms gap", s.isolatedGap},
		{"isolated, back to back", s.isolated},
		{"echo hi", s.echo},
		{"argv /bin/true", s.argv},
		{"4 callers", s.parallel},
		{"CLI", s.cliRow},
		{"--init 'sleep 0.1'", s.initRow},
		{"100 MB of output", s.bigOutput},
		{"pool in-process", s.poolRow},
	}
	for i, step := range steps {
		prog.phase(fmt.Sprintf("[%d/%d] %s", i+1, len(steps), step.name), 0)
		r, err := step.run()
		if err != nil {
			return cli.Exit(cli.ExitFailed, fmt.Errorf("%s: %w", step.name, err))
		}
		s.rows = append(s.rows, r)
	}
	prog.close()
	m.finish()
	if o.json {
		err = writeSuiteJSON(st.Out, m, s.rows)
	} else {
		err = writeSuiteText(st.Out, m, s.rows)
	}
	if err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	return nil
}

// run is a call of one side: it reports whether the command succeeded.
type run = func(context.Context) (bool, error)

// daemonRun is client.Run of req on the suite's daemon.
func (s *suite) daemonRun(req *client.Request) run {
	return func(ctx context.Context) (bool, error) {
		res, err := s.c.Run(ctx, req, 0)
		if err != nil {
			return false, err
		}
		return res.Success(), nil
	}
}

// spawnRun runs name with args as a process, its output discarded.
func spawnRun(name string, args ...string) run {
	return func(ctx context.Context) (bool, error) {
		err := exec.CommandContext(ctx, name, args...).Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ctx.Err() == nil {
			return false, nil
		}
		return err == nil, err
	}
}

// pair warms both sides up with a few untimed calls, then measures n calls
// of each, in turns, with c callers and gap after each call.
func (s *suite) pair(n, c int, gap time.Duration, mine, base run) (side, side, error) {
	for _, f := range []run{mine, base} {
		if _, err := measure(s.ctx, 2*c, c, 0, f, nil); err != nil {
			return side{}, side{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	a, b, err := interleave(s.ctx, n, c, gap, mine, base, nil)
	if err == nil && a.failed+b.failed > 0 {
		err = fmt.Errorf("the command failed in %d calls and %d baseline calls", a.failed, b.failed)
	}
	return a, b, err
}

// script is a request for script with nothing else, as the issue's
// client.Run rows measured it: the session's directory and environment.
func (s *suite) script(script string) *client.Request {
	return &client.Request{Script: script}
}

func (s *suite) sticky() (row, error) {
	req := s.script("true")
	req.Session = suiteSession
	a, b, err := s.pair(s.n, 1, 0, s.daemonRun(req), spawnRun("bash", "-c", "true"))
	return latencyRow("sticky session, script true (client.Run)", "bash -c true", a, b, speedup, 8), err
}

func (s *suite) isolatedGap() (row, error) {
	a, b, err := s.pair(s.n, 1, suiteGap, s.daemonRun(s.script("true")), spawnRun("bash", "-c", "true"))
	return latencyRow("isolated script true, 2 ms between calls (client.Run)", "bash -c true", a, b, speedup, 5), err
}

func (s *suite) isolated() (row, error) {
	a, b, err := s.pair(s.n, 1, 0, s.daemonRun(s.script("true")), spawnRun("bash", "-c", "true"))
	return latencyRow("isolated script true, back to back (client.Run)", "bash -c true", a, b, speedup, 3), err
}

func (s *suite) echo() (row, error) {
	a, b, err := s.pair(s.n, 1, 0, s.daemonRun(s.script("echo hi")), spawnRun("bash", "-c", "echo hi"))
	return latencyRow("isolated script echo hi, back to back (client.Run)", "bash -c 'echo hi'", a, b, speedup, 0), err
}

func (s *suite) argv() (row, error) {
	req := &client.Request{Argv: []string{"/bin/true"}}
	a, b, err := s.pair(s.n, 1, 0, s.daemonRun(req), spawnRun("/bin/true"))
	return latencyRow("argv /bin/true (client.Run)", "os/exec /bin/true", a, b, slowdown, 1.2), err
}

func (s *suite) parallel() (row, error) {
	a, b, err := s.pair(s.n, suiteCallers, 0, s.daemonRun(s.script("true")), spawnRun("bash", "-c", "true"))
	r := latencyRow("4 callers, script true: calls/s (client.Run)", "bash -c true", a, b, speedup, 1.5)
	r.Ratio = ratio(a.perSec(), b.perSec())
	r.RatioOf = "calls/s"
	r.met()
	return r, err
}

// cliRow compares the CLI as a process with bash -c as a process, and
// measures, in turns with bash -c too, this binary's start-up without a
// call (mothreads --version, which cobra answers before any command runs):
// the floor of every CLI call, whatever the daemon does.
func (s *suite) cliRow() (row, error) {
	n := min(s.n, suiteCLIMax)
	bash := spawnRun("bash", "-c", "true")
	mine := spawnRun(s.self, "exec", "--socket", s.d.socket, "--no-autostart", "-c", "true")
	a, b, err := s.pair(n, 1, 0, mine, bash)
	if err != nil {
		return row{}, err
	}
	r := latencyRow("CLI end to end: mothreads exec -c true, as a process", "bash -c true, as a process", a, b, slowdown, 2)
	start, base, err := s.pair(n, 1, 0, spawnRun(s.self, "--version"), bash)
	if err != nil {
		return row{}, fmt.Errorf("start-up: %w", err)
	}
	st, bs := percentile(start.latencies, 0.5), percentile(base.latencies, 0.5)
	r.StartupUS = round(us(st), 1)
	r.Note = fmt.Sprintf("this binary's start-up without a call (mothreads --version) costs %s, %.2fx bash -c true: the floor of any CLI call", dur(st), ratio(us(st), us(bs)))
	return r, nil
}

func (s *suite) initRow() (row, error) {
	d, err := startPrivate(s.ctx, s.wd, suiteInit, 1)
	if err != nil {
		return row{}, err
	}
	defer d.stop(Streams{})
	c, err := client.Dial(s.ctx, client.WithSocket(d.socket))
	if err != nil {
		return row{}, err
	}
	defer c.Close()
	mine := func(ctx context.Context) (bool, error) {
		res, err := c.Run(ctx, s.script("true"), 0)
		if err != nil {
			return false, err
		}
		return res.Success(), nil
	}
	a, b, err := s.pair(min(s.n, suiteInitMax), 1, 0, mine, spawnRun("bash", "-c", suiteInit+"\ntrue"))
	return latencyRow("--init 'sleep 0.1', script true (client.Run)", "bash -c 'sleep 0.1; true'", a, b, speedup, 300), err
}

// bigOutput streams 100 MB through the daemon (client.Exec into a writer
// that discards) and through a local pipe (head spawned with its stdout on
// a pipe this process reads), and reports the throughputs and how much the
// daemon's resident memory grew.
func (s *suite) bigOutput() (row, error) {
	script := fmt.Sprintf("head -c %d /dev/zero", suiteBigBytes)
	mine := func(ctx context.Context) (bool, error) {
		res, err := s.c.Exec(ctx, s.script(script), io.Discard, nil)
		if err != nil {
			return false, err
		}
		return res.Success(), nil
	}
	base := func(ctx context.Context) (bool, error) {
		cmd := exec.CommandContext(ctx, "head", "-c", fmt.Sprint(suiteBigBytes), "/dev/zero")
		out, err := cmd.StdoutPipe()
		if err != nil {
			return false, err
		}
		if err := cmd.Start(); err != nil {
			return false, err
		}
		n, cerr := io.Copy(io.Discard, out)
		err = cmd.Wait()
		if cerr != nil {
			return false, cerr
		}
		return err == nil && n == suiteBigBytes, nil
	}
	rss0 := procStatusKB(s.d.child.PID(), "VmRSS")
	a, b, err := interleave(s.ctx, suiteBigRuns, 1, 0, mine, base, nil)
	if err != nil {
		return row{}, err
	}
	r := latencyRow("100 MB of output through the daemon (client.Exec)", "a local pipe", a, b, speedup, 0)
	mbps := func(sd side) float64 { return ratio(suiteBigBytes/1e6, percentile(sd.latencies, 0.5).Seconds()) }
	r.Ratio, r.RatioOf = ratio(mbps(a), mbps(b)), "MB/s"
	r.Mine.MBPerSec, r.Base.MBPerSec = round(mbps(a), 0), round(mbps(b), 0)
	if rss0 > 0 {
		hwm := procStatusKB(s.d.child.PID(), "VmHWM")
		r.DaemonRSSGrowthKB = max(hwm-rss0, 0)
		r.Note = fmt.Sprintf("%.0f vs %.0f MB/s; the daemon's peak RSS grew by %d KiB", r.Mine.MBPerSec, r.Base.MBPerSec, r.DaemonRSSGrowthKB)
	}
	return r, nil
}

// poolRow compares a pool in this process with the same call through the
// daemon, and measures an empty unary call (the standard health check) on
// the daemon's socket in turns with the pool's calls: the floor of any call
// through the daemon.
func (s *suite) poolRow() (row, error) {
	root := threads.NewRoot("bench", threads.Logger(slog.New(slog.DiscardHandler)))
	defer func() { root.Stop(); root.Join() }()
	// This program calls pool.Launch first thing (cmd/mothreads), so its
	// in-process pool starts its shells through it, as the daemon's does.
	p, err := pool.New(root, pool.Config{MinIdle: 2, Launcher: s.self})
	if err != nil {
		return row{}, fmt.Errorf("a pool in-process: %w", err)
	}
	if err := p.WaitWarm(s.ctx); err != nil {
		return row{}, err
	}
	local := func(ctx context.Context) (bool, error) {
		res, err := p.Run(ctx, &pool.Request{Script: "true"})
		if err != nil {
			return false, err
		}
		return res.Success(), nil
	}
	a, b, err := s.pair(s.n, 1, 0, s.daemonRun(s.script("true")), local)
	if err != nil {
		return row{}, err
	}
	conn, err := grpc.NewClient("unix://"+s.d.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return row{}, err
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	empty := func(ctx context.Context) (bool, error) {
		_, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil, err
	}
	floor, _, err := s.pair(s.n, 1, 0, empty, local)
	if err != nil {
		return row{}, err
	}
	r := latencyRow("pool in-process → through the daemon, script true (client.Run)", "pool.Run in-process", a, b, slowdown, overheadRatio)
	r.FloorUS = round(us(percentile(floor.latencies, 0.5)), 1)
	r.Note = fmt.Sprintf("+%.0f µs over the pool in-process (target +80 µs); an empty unary gRPC call on the socket costs %.0f µs", us(percentile(a.latencies, 0.5)-percentile(b.latencies, 0.5)), r.FloorUS)
	return r, nil
}
