// Package execcmd is `mothreads exec`: it runs one command through the
// daemon, streams its output live, maps its end to an exit status, forwards
// Ctrl-C, drives a local terminal for -t, and starts a daemon when none
// answers.
package execcmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/flagval"
	"github.com/mothreads/mothreads/cmd/internal/target"
	"github.com/spf13/cobra"
)

// Streams are the standard files of the CLI. exec needs files, not
// writers: -t needs a terminal, and -i streams stdin as it comes.
type Streams struct {
	In, Out, Err *os.File
}

// Auto-start settings.
const (
	// AutostartExitIdle is the --exit-idle of an auto-started daemon.
	AutostartExitIdle = 10 * time.Minute
	// AutostartTimeout bounds the start of a daemon, races included.
	AutostartTimeout = 10 * time.Second
)

// options are exec's flags.
type options struct {
	script      string
	scriptSet   bool
	timeout     time.Duration
	cwd         string
	env         []string
	cleanEnv    bool
	stdin       bool
	tty         bool
	session     string
	idleTimeout time.Duration // --idle-timeout: the sticky session's, at its creation
	openStdin   bool          // --open-stdin: stdin that `mothreads input` feeds
	noAutostart bool
	json        bool
}

// New returns the exec command. resolve returns the daemon the root's
// flags name.
func New(st Streams, resolve func() (target.Target, error)) *cobra.Command {
	o := new(options)
	cmd := &cobra.Command{
		Use:   "exec [flags] -- PROG [ARG...] | exec [flags] -c SCRIPT",
		Short: "Run a command in a warm session of the daemon",
		Long: `Run a program (argv exactly as given, never re-split) or a shell script
(-c) in a warm session of the daemon. Its stdout and stderr stream live to
mothreads' own; it runs in the caller's directory with the caller's
environment unless told otherwise.

When no daemon answers on the socket, exec starts one in the background (its
log next to the socket, as SOCKET.log; it exits after 10 minutes without
calls) unless --no-autostart.

Ctrl-C (SIGINT) is forwarded to the command; a second one cancels the call,
which kills the command's process tree. SIGTERM and SIGHUP cancel the call.

Exit status: the command's own; 128+N when it died by signal N (or the call
was cancelled by signal N); 124 when it timed out; 127 when the program was
not found; 125 when mothreads itself failed, with the reason on stderr.

In a sticky session (--session) a timeout interrupts the command as ^C does
and keeps the session (its directory, variables and background jobs): exec
exits 124 with a note on stderr. A call interrupted from elsewhere
(mothreads interrupt) exits with the command's status, 130 when it died of
the SIGINT, with a note on stderr.`,
		Example: `  mothreads exec -- ls -l /tmp
  mothreads exec -c 'for f in *.go; do wc -l "$f"; done'
  mothreads exec --timeout 5s --env DEBUG=1 -- make test
  mothreads exec -t -- vim notes.txt
  mothreads exec --json -- git status --short
  mothreads exec --session dev --idle-timeout 1h -c 'cd ~/src/app && . .venv/bin/activate'
  mothreads exec --session dev --timeout 30s -c 'pytest -x'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.scriptSet = cmd.Flags().Changed("script")
			tg, err := resolve()
			if err != nil {
				return err
			}
			req, err := o.request(st, args)
			if err != nil {
				return err
			}
			return o.run(cmd.Context(), st, tg, req)
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false) // `exec ls -l`: -l belongs to ls
	fs.SortFlags = false
	fs.StringVarP(&o.script, "script", "c", "", "run this shell script instead of PROG [ARG...]")
	flagval.DurationVar(fs, &o.timeout, "timeout", "", 0, "kill the command after this long and exit 124 (0: the daemon's default)")
	fs.StringVar(&o.cwd, "cwd", "", "working directory on the daemon's host (default: the caller's)")
	fs.StringArrayVar(&o.env, "env", nil, "set KEY=VALUE for the command, over the rest of its environment (repeatable)")
	fs.BoolVar(&o.cleanEnv, "clean-env", false, "do not send the caller's environment: the command gets the session's (the daemon's, after its --init) plus --env")
	fs.BoolVarP(&o.stdin, "stdin", "i", false, "stream the caller's stdin to the command (default: /dev/null)")
	fs.BoolVarP(&o.tty, "tty", "t", false, "run the command on a pseudo-terminal, with the local terminal in raw mode (implies -i)")
	fs.StringVar(&o.session, "session", "", "run in the sticky session NAME, whose state persists across calls; there a timeout or Ctrl-C interrupts the command (exit 130) and keeps the session")
	flagval.DurationVar(fs, &o.idleTimeout, "idle-timeout", "", 0, "with --session, when this call creates the session: close it after this long unused (0: the daemon's --sticky-idle-timeout)")
	fs.BoolVar(&o.openStdin, "open-stdin", false, "with --session: give the command a stdin that 'mothreads input --session NAME' feeds (default: /dev/null)")
	fs.BoolVar(&o.noAutostart, "no-autostart", false, "fail (exit 125) instead of starting a daemon when none answers")
	fs.BoolVar(&o.json, "json", false, "print the result, timings and captured output as one JSON object instead of streaming")
	return cmd
}

// request builds the daemon request from the flags and arguments.
func (o *options) request(st Streams, argv []string) (*client.Request, error) {
	switch {
	case o.scriptSet && len(argv) > 0:
		return nil, cli.Usagef("give either -c SCRIPT or -- PROG [ARG...], not both (arguments: %q)", argv)
	case !o.scriptSet && len(argv) == 0:
		return nil, cli.Usagef("nothing to run: give -- PROG [ARG...] or -c SCRIPT")
	case o.scriptSet && strings.TrimSpace(o.script) == "":
		return nil, cli.Usagef("-c: empty script")
	case o.tty && o.json:
		return nil, cli.Usagef("-t and --json exclude each other: a terminal needs streaming")
	case o.idleTimeout > 0 && o.session == "":
		return nil, cli.Usagef("--idle-timeout needs --session: only a sticky session has an idle timeout")
	case o.openStdin && o.session == "":
		return nil, cli.Usagef("--open-stdin needs --session: only a sticky call's stdin can be fed later")
	case o.openStdin && (o.stdin || o.tty):
		return nil, cli.Usagef("--open-stdin excludes -i and -t: the command's stdin is either the caller's or fed by 'mothreads input'")
	}
	for _, kv := range o.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, cli.Usagef("--env %q: want KEY=VALUE", kv)
		}
	}
	req := &client.Request{Argv: argv, Script: o.script, Env: o.env, Timeout: o.timeout, Session: o.session,
		SessionIdleTimeout: o.idleTimeout, OpenStdin: o.openStdin}
	if !o.cleanEnv {
		req.BaseEnv = os.Environ()
	}
	if o.cwd != "" {
		dir, err := filepath.Abs(o.cwd)
		if err != nil {
			return nil, cli.Usagef("--cwd %q: %v", o.cwd, err)
		}
		req.Dir = dir
		if req.BaseEnv != nil {
			req.BaseEnv = append(req.BaseEnv, "PWD="+dir) // as os/exec does for Cmd.Dir
		}
	} else if wd, err := os.Getwd(); err == nil {
		req.BaseDir = wd // a cwd that no longer exists: the session's own
	}
	if o.stdin || o.tty {
		req.Stdin = st.In
	}
	return req, nil
}

// errNoDaemon is the failure with --no-autostart when no daemon answers.
func errNoDaemon(where string) error {
	return fmt.Errorf("no daemon at %s (--no-autostart given)", where)
}
