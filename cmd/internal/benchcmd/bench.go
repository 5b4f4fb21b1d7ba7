// Package benchcmd is `mothreads bench`: it runs one command N times with C
// callers at once through a daemon and, in the same run, by spawning it with
// os/exec, and reports the latencies, the rates and their ratios.
//
// The daemon side uses a private daemon that bench starts for the run (the
// running binary in its daemon mode, on a socket in a new temporary
// directory, with --init SCRIPT and --min-idle C) and stops at the end: the
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
	json           bool
}

// New returns the bench command.
func New(st Streams) *cobra.Command {
	return newWith(&options{n: 200, concurrency: 1}, st)
}

// newWith returns the bench command with its flags bound to o, which holds
// their defaults.
func newWith(o *options, st Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench [-n N] [-c C] [--init SCRIPT] [--json] -- PROG [ARG...] | bench ... -c SCRIPT",
		Short: "Compare running a command through a daemon with spawning it",
		Long: `Run a command N times with C callers at once through a private daemon and, in
the same run, by spawning it with os/exec, and print the median, p90 and p99
latencies, the calls per second, and the ratios (spawn / daemon: above 1 means
the daemon is faster).

-c takes either form of DESIGN.md: a whole number is the concurrency (-c 4),
anything else the script to run (-c 'echo hi'); --concurrency and --script
say it without guessing.

The daemon side runs in a private daemon that bench starts on a temporary
socket (with --init and --min-idle C) and stops afterwards. The spawn side
runs PROG directly, or bash -c SCRIPT; with --init, bash -c 'INIT<newline>
SCRIPT', so that each spawn pays for the init script as a new shell would.

--json prints one object: {"n":…, "concurrency":…, "daemon":{"p50_us":…,
"p90_us":…, "p99_us":…, "per_sec":…}, "spawn":{…same…}, "speedup_p50":…},
where speedup_p50 is the spawn's median latency over the daemon's.`,
		Example: `  mothreads bench -- true
  mothreads bench -n 500 -c 4 -c 'echo hi'
  mothreads bench --init 'source venv/bin/activate' -- python -c pass`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(args); err != nil {
				return err
			}
			ctx, cancel := context.WithCancelCause(cmd.Context())
			defer cancel(nil)
			stop := cancelOnSignal(ctx, cancel)
			defer stop()
			err := o.run(ctx, st, args)
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
	fs.VarP(cValue{o}, "concurrency", "c", "callers at once (a whole number), or the script to run (-c SCRIPT)")
	fs.Lookup("concurrency").DefValue = "1"
	fs.Var(scriptValue{o}, "script", "the shell script to run instead of PROG [ARG...]")
	fs.StringVar(&o.init, "init", "", "script that the daemon's sessions run once, and each spawn before the command")
	fs.BoolVar(&o.json, "json", false, "print the figures as one JSON object")
	return cmd
}

func (o *options) validate(argv []string) error {
	switch {
	case o.scriptSet && len(argv) > 0:
		return cli.Usagef("give either -c SCRIPT or -- PROG [ARG...], not both (arguments: %q)", argv)
	case !o.scriptSet && len(argv) == 0:
		return cli.Usagef("nothing to run: give -- PROG [ARG...] or -c SCRIPT")
	case o.scriptSet && strings.TrimSpace(o.script) == "":
		return cli.Usagef("empty script")
	}
	return nil
}

// cValue is -c: a whole number sets the concurrency, anything else the
// script.
type cValue struct{ o *options }

func (v cValue) String() string {
	if v.o == nil {
		return "1"
	}
	return strconv.Itoa(v.o.concurrency)
}

func (v cValue) Set(s string) error {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		if n < 1 {
			return fmt.Errorf("concurrency %d is below 1", n)
		}
		v.o.concurrency = n
		return nil
	}
	return scriptValue(v).Set(s)
}

func (cValue) Type() string { return "C|SCRIPT" }

// scriptValue is --script.
type scriptValue struct{ o *options }

func (v scriptValue) String() string {
	if v.o == nil {
		return ""
	}
	return v.o.script
}

func (v scriptValue) Set(s string) error {
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
