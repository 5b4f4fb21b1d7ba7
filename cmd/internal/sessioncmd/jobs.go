package sessioncmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/target"
	"github.com/spf13/cobra"
)

func newJobs(st Streams, resolve func() (target.Target, error)) *cobra.Command {
	var session string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "jobs --session SESSION [--json]",
		Short: "List the background jobs of a sticky session",
		Long: `List the jobs of a sticky session: the process groups its shell started that
are still there (background jobs, and the foreground job of a call in
progress), with their state and command line. In the session itself,
'mothreads exec --session SESSION -c "kill %1"' works as in a terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return call(cmd, resolve, func(ctx context.Context, c *client.Client) error {
				s, err := c.Session(ctx, session)
				if err != nil {
					return failed(err)
				}
				if asJSON {
					return json.NewEncoder(st.Out).Encode(toJSON(*s).Jobs)
				}
				return printJobs(st.Out, s.Jobs)
			})
		},
	}
	sessionFlag(cmd, &session)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the jobs as a JSON array")
	return cmd
}

func printJobs(w io.Writer, jobs []client.Job) error {
	if len(jobs) == 0 {
		_, err := fmt.Fprintln(w, "no jobs")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PGID\tSTATE\tPIDS\tCOMMAND")
	for _, j := range jobs {
		pids := make([]string, len(j.PIDs))
		for i, p := range j.PIDs {
			pids[i] = strconv.Itoa(p)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", j.PGID, j.State, strings.Join(pids, ","), printable(j.Command))
	}
	return tw.Flush()
}

func newLogs(st Streams, resolve func() (target.Target, error)) *cobra.Command {
	var session string
	var follow bool
	var tail int64
	cmd := &cobra.Command{
		Use:   "logs --session SESSION [--follow] [--tail N]",
		Short: "Print what a sticky session's background jobs wrote after their call",
		Long: `Print what the background jobs of a sticky session wrote after the calls that
started them ended (stdout and stderr together, as written; the daemon keeps
the last MiB per session). Such output never goes into a later call's output.

With --follow, go on printing what they write until the session closes
(exit 0), or Ctrl-C. A note on stderr says when bytes were lost because the
log turned over before they were read.`,
		Example: `  mothreads exec --session dev -c 'python3 -m http.server 8000 &'
  mothreads logs --session dev --follow`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tail < 0 {
				return cli.Usagef("--tail %d: want a number of bytes, 0 for all", tail)
			}
			ctx := cmd.Context()
			c, err := dial(ctx, resolve)
			if err != nil {
				return err
			}
			defer c.Close()
			_, skipped, err := c.Logs(ctx, session, -tail, follow, st.Out)
			if skipped > 0 {
				fmt.Fprintf(st.Err, "mothreads: %d bytes of the log were lost (it keeps the last MiB) before they could be read\n", skipped)
			}
			return failed(err)
		},
	}
	sessionFlag(cmd, &session)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing what the jobs write, until the session closes")
	cmd.Flags().Int64Var(&tail, "tail", 0, "start with the last N bytes kept (0: all that is kept)")
	return cmd
}

func newInput(st Streams, resolve func() (target.Target, error)) *cobra.Command {
	var session string
	var eof, tty bool
	cmd := &cobra.Command{
		Use:   "input --session SESSION [--eof] [--tty] [TEXT]",
		Short: "Send input to the command waiting in a sticky session",
		Long: `Send input to the command running in a sticky session: TEXT and a newline,
or without TEXT this command's own stdin to its end, exactly. It goes to the
command's stdin when its call was started with 'exec --open-stdin', or with
--tty to the session's terminal (where programs that open /dev/tty prompt).
--eof then closes that input (^D on the terminal). 'mothreads sessions' says
whether a command waits for input.`,
		Example: `  mothreads exec --session dev --open-stdin -c 'read -p "name? " n; echo "hi $n"' &
  mothreads input --session dev bob`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			if len(args) == 1 {
				data = []byte(args[0] + "\n")
			} else {
				var err error
				if data, err = io.ReadAll(st.In); err != nil {
					return cli.Exit(cli.ExitFailed, fmt.Errorf("reading stdin: %w", err))
				}
			}
			if len(data) == 0 && !eof {
				return cli.Usagef("nothing to send: give TEXT, input on stdin, or --eof")
			}
			return call(cmd, resolve, func(ctx context.Context, c *client.Client) error {
				return failed(c.Input(ctx, session, data, eof, tty))
			})
		},
	}
	sessionFlag(cmd, &session)
	cmd.Flags().BoolVar(&eof, "eof", false, "close the input after sending (^D with --tty)")
	cmd.Flags().BoolVar(&tty, "tty", false, "write to the session's terminal instead of the command's stdin")
	return cmd
}
