// Package mothreadscmd is the mothreads command line: the root command, its
// subcommands (exec, status, stop, version, bench, completion, and the
// sticky session commands sessions, close, interrupt, jobs, logs, input) and the
// hidden daemon mode that auto-start uses.
package mothreadscmd

import (
	"context"
	"os"

	"github.com/mothreads/mothreads/cmd/internal/benchcmd"
	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/daemoncmd"
	"github.com/mothreads/mothreads/cmd/internal/daemonctl"
	"github.com/mothreads/mothreads/cmd/internal/execcmd"
	"github.com/mothreads/mothreads/cmd/internal/sessioncmd"
	"github.com/mothreads/mothreads/cmd/internal/target"
	"github.com/mothreads/mothreads/cmd/internal/version"
	"github.com/spf13/cobra"
)

// Main runs mothreads with args (without the program name) on the process's
// standard files and returns its exit status. Every failure of mothreads
// itself, usage errors included, is status 125 (see cli.ExitFailed), except
// in the hidden daemon mode, which exits as mothreadsd does.
func Main(ctx context.Context, args []string) int {
	st := execcmd.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
	if len(args) > 0 && args[0] == daemonctl.Subcommand {
		prog := cli.Program{Name: "mothreads daemon", UsageCode: daemoncmd.ExitUsage, FailCode: daemoncmd.ExitFailed, Stdout: st.Out, Stderr: st.Err}
		return prog.Execute(ctx, newRoot(st), args)
	}
	prog := cli.Program{Name: "mothreads", UsageCode: cli.ExitFailed, FailCode: cli.ExitFailed, Stdout: st.Out, Stderr: st.Err}
	return prog.Execute(ctx, newRoot(st), args)
}

// newRoot builds the command tree.
func newRoot(st execcmd.Streams) *cobra.Command {
	var where target.Flags
	resolve := func() (target.Target, error) {
		t, err := where.Resolve()
		if err != nil {
			return t, cli.Exit(cli.ExitFailed, err)
		}
		return t, nil
	}
	root := &cobra.Command{
		Use:   "mothreads",
		Short: "Run commands in warm shell sessions kept by a daemon",
		Long: `mothreads runs commands in warm shell sessions kept by a daemon (mothreadsd,
or one it starts by itself), so that each call skips the shell's start-up.

Every subcommand talks to the daemon on --socket, default $MOTHREADS_SOCKET,
else $XDG_RUNTIME_DIR/mothreads/mothreads.sock, else
/tmp/mothreads-<uid>/mothreads.sock; or, with --address, to daemons over TCP.

Before sending anything on a socket, mothreads checks that the socket and
every directory up to / belong to you or root and that nobody else can write
them, and that the daemon runs as you. Root uses another user's daemon only
with --daemon-uid.`,
		Args:    cobra.NoArgs, // with RunE: an unknown subcommand is an error, not help
		Version: version.String(),
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	where.Define(root.PersistentFlags())
	root.AddCommand(
		execcmd.New(st, resolve),
		newStatus(st, resolve),
		newStop(st, resolve),
		newVersion(st, resolve),
		benchcmd.New(benchcmd.Streams{Out: st.Out, Err: st.Err}),
	)
	root.AddCommand(sessioncmd.New(sessioncmd.Streams{In: st.In, Out: st.Out, Err: st.Err}, resolve)...)
	daemon := daemoncmd.New(daemonctl.Subcommand, st.Err)
	daemon.Hidden = true
	root.AddCommand(daemon)
	return root
}
