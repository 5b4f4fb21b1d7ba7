// Package benchcmd is `mothreads bench`: it runs one command N times with J
// callers at once through a daemon and, in the same run and interleaved
// with it, by spawning it with os/exec, and reports the latencies, the
// rates and their ratios. With --suite it measures every path of issue 10
// against its own baseline and prints one table of ratios and targets.
//
// The daemon side uses a private daemon that bench starts for the run (the
// running binary in its daemon mode, on a socket in a new temporary
// directory, with --init SCRIPT and --min-idle J) and stops at the end: the
// measurement does not depend on, or disturb, the user's daemon, and --init
// applies to it alone. The spawn side runs argv directly (exec.Command(PROG,
// ARG...)) or `bash -c SCRIPT`; with --init, it runs `bash -c 'INIT
// SCRIPT'` (or `bash -c 'INIT
// "$@"' bash PROG ARG...`), so that every spawn pays for the init as a
// fresh shell would.
package benchcmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/flagval"
	"github.com/spf13/cobra"
)

// Streams are bench's output files; the progress line goes to Err when it
// is a terminal.
type Streams struct {
	Out, Err *os.File
}

// options are bench's flags.
type options struct {
	n, concurrency int
	script         string
	scriptSet      bool
	init           string
	session        string
	gap            time.Duration
	json           bool
	suite          bool
	deprecatedC    bool // -c N gave the concurrency: say so on stderr
}

// New returns the bench command.
func New(st Streams) *cobra.Command {
	return newWith(&options{n: 200, concurrency: 1}, st)
}

// newWith returns the bench command with its flags bound to o, which holds
// their defaults.
func newWith(o *options, st Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench [-n N] [-j J] [--session NAME] [--gap D] [--init SCRIPT] [--json] -- PROG [ARG...] | bench ... -c SCRIPT | bench --suite [--json]",
		Short: "Compare running a command through a daemon with spawning it",
		Long: `Run a command N times with J callers at once through a private daemon and, in
the same run, by spawning it with os/exec, and print the median, p90 and p99
latencies, the calls per second, and the ratios (spawn / daemon: above 1 means
the daemon is faster). The two sides take turns (one call each with one
caller, rounds of calls with several), so that a machine whose load changes
during the run weighs on both alike.

-c SCRIPT runs a shell script, as in exec; -j N (--concurrency) sets the
callers. The older -c N (a whole number) still sets the callers, with a note.
--session NAME runs the daemon side in the sticky session NAME; --gap D
leaves D between a caller's calls (an idle machine between calls).

The daemon side runs in a private daemon that bench starts on a temporary
socket (with --init and --min-idle J) and stops afterwards. The spawn side
runs PROG directly, or bash -c SCRIPT; with --init, bash -c 'INIT<newline>
SCRIPT', so that each spawn pays for the init script as a new shell would.

--json prints one object: {"n":…, "concurrency":…, "daemon":{"p50_us":…,
"p90_us":…, "p99_us":…, "per_sec":…}, "spawn":{…same…}, "speedup_p50":…},
where speedup_p50 is the spawn's median latency over the daemon's.

--suite measures every path of issue 10 against its baseline, each pair in
turns, in one run: a sticky session, isolated scripts back to back and with
a 2 ms gap, echo hi, argv /bin/true against os/exec, 4 callers, the CLI as a
process against bash -c as a process, a 100 ms --init, 100 MB of output
against a local pipe, and the pool in-process against the same call through
the daemon. It prints one table (p50 and p99 of each side, the ratio, the
target and whether the ratio meets it; targets are ratios, never times);
with --json, one object with one entry per row. -n sets the calls per side
of the quick rows.`,
		Example: `  mothreads bench -- true
  mothreads bench -n 500 -j 4 -c 'echo hi'
  mothreads bench --session dev --gap 2ms -c true
  mothreads bench --init 'source venv/bin/activate' -- python -c pass
  mothreads bench --suite`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.deprecatedC {
				fmt.Fprintf(cmd.ErrOrStderr(), "mothreads bench: -c %d for the number of callers is deprecated: use -j %d (-c is the script, as in exec)\n", o.concurrency, o.concurrency)
			}
			if err := o.validate(args); err != nil {
				return err
			}
			ctx, cancel := context.WithCancelCause(cmd.Context())
			defer cancel(nil)
			stop := cancelOnSignal(ctx, cancel)
			defer stop()
			var err error
			if o.suite {
				err = o.runSuite(ctx, st, !cmd.Flags().Changed("n"))
			} else {
				err = o.run(ctx, st, args)
			}
			if sig, ok := context.Cause(ctx).(interrupted); ok {
				return cli.Exit(cli.ExitSignal+int(sig), fmt.Errorf("bench interrupted by %v", syscall.Signal(sig)))
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	fs.SortFlags = false
	flagval.IntVar(fs, &o.n, "n", "n", o.n, 1, "calls on each side")
	fs.VarP(scriptValue{o}, "script", "c", "the shell script to run instead of PROG [ARG...], as in exec (a whole number N: the older form of -j N)")
	fs.VarP(concurrencyValue{o}, "concurrency", "j", "callers at once")
	fs.Lookup("concurrency").DefValue = "1"
	fs.StringVar(&o.session, "session", "", "run the daemon side in the sticky session NAME")
	flagval.DurationVar(fs, &o.gap, "gap", "", 0, "pause between a caller's calls, on both sides (e.g. 2ms)")
	fs.StringVar(&o.init, "init", "", "script that the daemon's sessions run once, and each spawn before the command")
	fs.BoolVar(&o.json, "json", false, "print the figures as one JSON object")
	fs.BoolVar(&o.suite, "suite", false, "measure every path of issue 10 against its baseline and print one table")
	return cmd
}

func (o *options) validate(argv []string) error {
	switch {
	case o.suite && (o.scriptSet || len(argv) > 0 || o.init != "" || o.session != "" || o.gap != 0 || o.concurrency != 1):
		return cli.Usagef("--suite runs its own commands: give it only -n and --json")
	case o.suite:
		return nil
	case o.scriptSet && len(argv) > 0:
		return cli.Usagef("give either -c SCRIPT or -- PROG [ARG...], not both (arguments: %q)", argv)
	case !o.scriptSet && len(argv) == 0:
		return cli.Usagef("nothing to run: give -- PROG [ARG...] or -c SCRIPT")
	case o.scriptSet && strings.TrimSpace(o.script) == "":
		return cli.Usagef("empty script")
	}
	return nil
}

// concurrencyValue is -j (--concurrency): the callers at once.
type concurrencyValue struct{ o *options }

func (v concurrencyValue) String() string {
	if v.o == nil {
		return "1"
	}
	return strconv.Itoa(v.o.concurrency)
}

func (v concurrencyValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not a whole number")
	}
	if n < 1 {
		return fmt.Errorf("concurrency %d is below 1", n)
	}
	v.o.concurrency = n
	return nil
}

func (concurrencyValue) Type() string { return "J" }

// scriptValue is -c (--script): the script to run, as in exec. A whole
// number is the older form of -j, kept working with a note on stderr.
type scriptValue struct{ o *options }

func (v scriptValue) String() string {
	if v.o == nil {
		return ""
	}
	return v.o.script
}

func (v scriptValue) Set(s string) error {
	if _, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		if err := (concurrencyValue(v)).Set(s); err != nil {
			return err
		}
		v.o.deprecatedC = true
		return nil
	}
	if v.o.scriptSet {
		return fmt.Errorf("a script was given already")
	}
	v.o.script, v.o.scriptSet = s, true
	return nil
}

func (scriptValue) Type() string { return "SCRIPT" }

// interrupted is the cause of a run cancelled by a signal.
type interrupted syscall.Signal

func (i interrupted) Error() string { return "interrupted by " + syscall.Signal(i).String() }

// cancelOnSignal cancels ctx when the process gets SIGINT, SIGTERM or
// SIGHUP, until stop is called; bench then stops its daemon and cleans up.
func cancelOnSignal(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			sig, _ := s.(syscall.Signal)
			cancel(interrupted(sig))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}
