// Package sessioncmd is the mothreads commands about sticky sessions:
// sessions, close, interrupt, jobs, logs and input. None of them starts a
// daemon: without one there are no sessions.
package sessioncmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/target"
	"github.com/spf13/cobra"
)

// Streams are the standard files the commands use.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// callTimeout bounds each unary call (all but logs --follow).
const callTimeout = 10 * time.Second

// New returns the session commands. resolve returns the daemon the root's
// flags name.
func New(st Streams, resolve func() (target.Target, error)) []*cobra.Command {
	return []*cobra.Command{
		newSessions(st, resolve), newClose(st, resolve), newInterrupt(st, resolve),
		newJobs(st, resolve), newLogs(st, resolve), newInput(st, resolve),
	}
}

// dial connects to the daemon tg names; failures are exit status 125.
func dial(ctx context.Context, resolve func() (target.Target, error)) (*client.Client, error) {
	tg, err := resolve()
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(ctx, tg.Options...)
	if err != nil {
		return nil, cli.Exit(cli.ExitFailed, err)
	}
	return c, nil
}

// failed turns a client error into exit status 125 with a short reason.
// call dials the daemon that resolve names and runs f with the client, in a
// context bounded by callTimeout.
func call(cmd *cobra.Command, resolve func() (target.Target, error), f func(context.Context, *client.Client) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), callTimeout)
	defer cancel()
	c, err := dial(ctx, resolve)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(ctx, c)
}

func failed(err error) error {
	if err == nil {
		return nil
	}
	var re *client.RequestError
	if errors.As(err, &re) {
		return cli.Exit(cli.ExitFailed, errors.New(strings.TrimPrefix(re.Message, `field "session": `)))
	}
	return cli.Exit(cli.ExitFailed, err)
}

// named checks a session name given on the command line.
func named(flag, name string) error {
	if name == "" {
		return cli.Usagef("%s: empty; name a sticky session ('mothreads sessions' lists them)", flag)
	}
	return nil
}

// sessionFlag defines the required --session flag.
func sessionFlag(cmd *cobra.Command, name *string) {
	cmd.Flags().StringVar(name, "session", "", "the sticky session (required)")
	_ = cmd.MarkFlagRequired("session")
	cmd.PreRunE = func(*cobra.Command, []string) error { return named("--session", *name) }
}

func newSessions(st Streams, resolve func() (target.Target, error)) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sessions [--json]",
		Short: "List the daemon's sticky sessions",
		Long: `List the daemon's sticky sessions: name, shell pid, calls, state (idle,
busy, or waiting for input), time since last use, idle expiry, background
jobs, bytes in the background log, and the shell's current directory.

A sticky session belongs to whoever may call the daemon: anyone it admits
may list, use, interrupt and close every session.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return call(cmd, resolve, func(ctx context.Context, c *client.Client) error {
				list, err := c.Sessions(ctx)
				if err != nil {
					return failed(err)
				}
				if asJSON {
					out := make([]jsonSession, len(list))
					for i, s := range list {
						out[i] = toJSON(s)
					}
					return json.NewEncoder(st.Out).Encode(out)
				}
				return printSessions(st.Out, list, time.Now())
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the sessions as a JSON array")
	return cmd
}

// jsonSession is one session of sessions --json and jobs --json.
type jsonSession struct {
	Name          string    `json:"name"`
	PID           int       `json:"pid"`
	Cwd           string    `json:"cwd"`
	CreatedAt     time.Time `json:"created_at"`
	LastUsedAt    time.Time `json:"last_used_at"`
	Calls         int64     `json:"calls"`
	Busy          bool      `json:"busy"`
	Waiting       string    `json:"waiting,omitempty"`
	IdleTimeoutMS int64     `json:"idle_timeout_ms"`
	LogBytes      int64     `json:"log_bytes"`
	Jobs          []jsonJob `json:"jobs"`
}

type jsonJob struct {
	PGID    int    `json:"pgid"`
	PIDs    []int  `json:"pids"`
	State   string `json:"state"`
	Command string `json:"command"`
}

func toJSON(s client.SessionInfo) jsonSession {
	j := jsonSession{Name: s.Name, PID: s.PID, Cwd: s.Dir, CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt,
		Calls: s.Calls, Busy: s.Busy, Waiting: s.Waiting, IdleTimeoutMS: s.IdleTimeout.Milliseconds(),
		LogBytes: s.LogBytes, Jobs: []jsonJob{}}
	for _, job := range s.Jobs {
		j.Jobs = append(j.Jobs, jsonJob{PGID: job.PGID, PIDs: job.PIDs, State: job.State, Command: job.Command})
	}
	return j
}

// printSessions writes the sessions as a table; now is the reference for
// the time since last use.
func printSessions(w io.Writer, list []client.SessionInfo, now time.Time) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no sticky sessions")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPID\tCALLS\tSTATE\tIDLE\tEXPIRES\tJOBS\tLOG\tCWD")
	for _, s := range list {
		state, idle := "idle", "-"
		switch {
		case s.Waiting != "":
			state = "waiting on " + s.Waiting
		case s.Busy:
			state = "busy"
		}
		if !s.Busy && !s.LastUsedAt.IsZero() {
			idle = now.Sub(s.LastUsedAt).Round(time.Second).String()
		}
		expires := "never"
		if s.IdleTimeout > 0 {
			expires = "idle " + s.IdleTimeout.String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%d\t%dB\t%s\n", s.Name, s.PID, s.Calls, state, idle, expires,
			len(s.Jobs), s.LogBytes, printable(s.Dir))
	}
	return tw.Flush()
}

// printable is s with control characters and bytes that are not UTF-8
// escaped as Go does, without quotes, for a table.
func printable(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func newClose(st Streams, resolve func() (target.Target, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "close SESSION",
		Short: "Close a sticky session, its running call and its background jobs",
		Long: `Close a sticky session: a call running in it is cancelled, and its shell and
every background job it started are stopped (SIGTERM, then SIGKILL after the
daemon's --kill-grace). The next call that names it starts a new session.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := named("SESSION", args[0]); err != nil {
				return err
			}
			return call(cmd, resolve, func(ctx context.Context, c *client.Client) error {
				return failed(c.CloseSession(ctx, args[0]))
			})
		},
	}
}

func newInterrupt(st Streams, resolve func() (target.Target, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "interrupt SESSION",
		Short: "Interrupt (^C) the call running in a sticky session; the session stays",
		Long: `Interrupt the call running in a sticky session as ^C on a terminal does: its
foreground job gets SIGINT and the rest of its script is skipped. The call
ends interrupted (status 130 when the job dies of the SIGINT); the session
keeps its directory, variables and background jobs. Exit status 125 when the
session runs no call.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := named("SESSION", args[0]); err != nil {
				return err
			}
			return call(cmd, resolve, func(ctx context.Context, c *client.Client) error {
				return failed(c.Interrupt(ctx, args[0]))
			})
		},
	}
}
