package mothreadscmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/daemonctl"
	"github.com/mothreads/mothreads/cmd/internal/execcmd"
	"github.com/mothreads/mothreads/cmd/internal/target"
	"github.com/spf13/cobra"
)

// statusTimeout bounds status, stop's first call and version's daemon
// query.
const statusTimeout = 5 * time.Second

func newStatus(st execcmd.Streams, resolve func() (target.Target, error)) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show the daemon's sessions and call figures",
		Long: `Show the daemon's sessions and call figures. Exit status 0 when a daemon
serves on the socket, 125 when none answers or it is shutting down.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tg, err := resolve()
			if err != nil {
				return err
			}
			socket := tg.String()
			s, err := daemonctl.Probe(cmd.Context(), statusTimeout, tg.Options...)
			if errors.Is(err, client.ErrUnavailable) {
				return cli.Exit(cli.ExitFailed, fmt.Errorf("no daemon answers at %s", socket))
			}
			if err != nil {
				return cli.Exit(cli.ExitFailed, err)
			}
			if asJSON {
				err = json.NewEncoder(st.Out).Encode(statusJSON(socket, s))
			} else {
				err = printStatus(st.Out, socket, s)
			}
			if err != nil {
				return cli.Exit(cli.ExitFailed, err)
			}
			if !s.Serving {
				return cli.Exit(cli.ExitFailed, fmt.Errorf("the daemon at %s is shutting down", socket))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the figures as one JSON object")
	return cmd
}

// jsonStatus is status --json: durations are whole microseconds.
type jsonStatus struct {
	Socket    string    `json:"socket"`
	Version   string    `json:"version"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	Serving   bool      `json:"serving"`
	Instance  string    `json:"instance"`
	// Identities counts calls per TLS client identity.
	Identities map[string]int64 `json:"identities,omitempty"`
	// StickySessions names the sticky sessions (mothreads sessions --json
	// describes them).
	StickySessions []string `json:"sticky_session_names,omitempty"`
	Pool           struct {
		SessionsIdle         int   `json:"sessions_idle"`
		SessionsBusy         int   `json:"sessions_busy"`
		SessionsStarting     int   `json:"sessions_starting"`
		StickySessions       int   `json:"sticky_sessions"`
		QueueLength          int   `json:"queue_length"`
		SessionsSpawned      int64 `json:"sessions_spawned"`
		SessionsRecycled     int64 `json:"sessions_recycled"`
		SessionsReplaced     int64 `json:"sessions_replaced"`
		SessionStartFailures int64 `json:"session_start_failures"`
		MinIdle              int   `json:"min_idle"`
		MaxSessions          int   `json:"max_sessions"`
		MaxSticky            int   `json:"max_sticky"`
		StickyIdleTimeoutMS  int64 `json:"sticky_idle_timeout_ms"`
		QueueWaitP50US       int64 `json:"queue_wait_p50_us"`
		QueueWaitP99US       int64 `json:"queue_wait_p99_us"`
		QueueWaitMaxUS       int64 `json:"queue_wait_max_us"`
	} `json:"pool"`
	Calls struct {
		Started      int64 `json:"started"`
		InFlight     int64 `json:"in_flight"`
		OK           int64 `json:"ok"`
		Failed       int64 `json:"failed"`
		TimedOut     int64 `json:"timed_out"`
		Cancelled    int64 `json:"cancelled"`
		SessionLost  int64 `json:"session_lost"`
		Rejected     int64 `json:"rejected"`
		LatencyP50US int64 `json:"latency_p50_us"`
		LatencyP90US int64 `json:"latency_p90_us"`
		LatencyP99US int64 `json:"latency_p99_us"`
	} `json:"calls"`
}

func statusJSON(socket string, s *client.Status) jsonStatus {
	j := jsonStatus{Socket: socket, Version: s.Version, PID: s.PID, StartedAt: s.StartedAt, Serving: s.Serving,
		Instance: s.Instance, Identities: s.Identities}
	p, c := s.Pool, s.Calls
	j.Pool.SessionsIdle, j.Pool.SessionsBusy, j.Pool.SessionsStarting = p.SessionsIdle, p.SessionsBusy, p.SessionsStarting
	j.Pool.StickySessions, j.Pool.QueueLength = p.StickySessions, p.QueueLength
	j.Pool.SessionsSpawned, j.Pool.SessionsRecycled = p.SessionsSpawned, p.SessionsRecycled
	j.Pool.SessionsReplaced, j.Pool.SessionStartFailures = p.SessionsReplaced, p.SessionStartFailures
	j.Pool.MinIdle, j.Pool.MaxSessions = p.MinIdle, p.MaxSessions
	j.Pool.MaxSticky, j.Pool.StickyIdleTimeoutMS = p.MaxSticky, p.StickyIdleTimeout.Milliseconds()
	for _, ss := range s.Sessions {
		j.StickySessions = append(j.StickySessions, ss.Name)
	}
	j.Pool.QueueWaitP50US, j.Pool.QueueWaitP99US, j.Pool.QueueWaitMaxUS = us(p.QueueWaitP50), us(p.QueueWaitP99), us(p.QueueWaitMax)
	j.Calls.Started, j.Calls.InFlight, j.Calls.OK, j.Calls.Failed = c.Started, c.InFlight, c.OK, c.Failed
	j.Calls.TimedOut, j.Calls.Cancelled, j.Calls.SessionLost, j.Calls.Rejected = c.TimedOut, c.Cancelled, c.SessionLost, c.Rejected
	j.Calls.LatencyP50US, j.Calls.LatencyP90US, j.Calls.LatencyP99US = us(c.LatencyP50), us(c.LatencyP90), us(c.LatencyP99)
	return j
}

func us(d time.Duration) int64 { return d.Microseconds() }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func printStatus(w io.Writer, socket string, s *client.Status) error {
	state := "serving"
	if !s.Serving {
		state = "shutting down"
	}
	p, c := s.Pool, s.Calls
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "daemon\t%s, pid %d, version %s, up %s\n", state, s.PID, s.Version, time.Since(s.StartedAt).Round(time.Second))
	fmt.Fprintf(tw, "socket\t%s\n", socket)
	fmt.Fprintf(tw, "sessions\t%d idle, %d busy, %d starting, %d sticky (min idle %d, max %d)\n",
		p.SessionsIdle, p.SessionsBusy, p.SessionsStarting, p.StickySessions, p.MinIdle, p.MaxSessions)
	if len(s.Sessions) > 0 || p.MaxSticky > 0 {
		names := make([]string, len(s.Sessions))
		for i, ss := range s.Sessions {
			names[i] = ss.Name
		}
		idle := "no idle expiry"
		if p.StickyIdleTimeout > 0 {
			idle = "closed after " + p.StickyIdleTimeout.String() + " unused"
		}
		fmt.Fprintf(tw, "  sticky\t%d of at most %d, %s: %s\n", len(s.Sessions), p.MaxSticky, idle, orNone(strings.Join(names, ", ")))
	}
	fmt.Fprintf(tw, "  since start\t%d spawned, %d recycled, %d replaced, %d failed to start\n",
		p.SessionsSpawned, p.SessionsRecycled, p.SessionsReplaced, p.SessionStartFailures)
	fmt.Fprintf(tw, "queue\t%d waiting; wait p50 %s, p99 %s, max %s\n", p.QueueLength, p.QueueWaitP50, p.QueueWaitP99, p.QueueWaitMax)
	fmt.Fprintf(tw, "calls\t%d started, %d in flight, %d ok, %d failed, %d timed out, %d cancelled, %d session lost, %d rejected\n",
		c.Started, c.InFlight, c.OK, c.Failed, c.TimedOut, c.Cancelled, c.SessionLost, c.Rejected)
	fmt.Fprintf(tw, "latency\tp50 %s, p90 %s, p99 %s\n", c.LatencyP50, c.LatencyP90, c.LatencyP99)
	ids := slices.Sorted(maps.Keys(s.Identities))
	for _, id := range ids {
		fmt.Fprintf(tw, "client\t%s: %d calls\n", id, s.Identities[id])
	}
	return tw.Flush()
}

// queryDaemon returns the status of the daemon tg names, or nil and why
// when none answers in time.
func queryDaemon(ctx context.Context, tg target.Target) (*client.Status, error) {
	return daemonctl.Probe(ctx, statusTimeout, tg.Options...)
}
