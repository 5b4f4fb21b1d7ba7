package daemonctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mothreads/mothreads/client"
)

// Autostart says how Ensure starts a daemon when none serves.
type Autostart struct {
	// Socket is the daemon's socket.
	Socket string
	// ExitIdle is passed as --exit-idle, unless MOTHREADS_EXIT_IDLE is set
	// in the environment, so that an unused daemon goes away by itself.
	ExitIdle time.Duration
	// Timeout bounds Ensure as a whole: the start, any race with another
	// starter, and the wait until the daemon serves.
	Timeout time.Duration
	// Dial are more client options to reach the daemon on Socket (such as
	// client.WithDaemonUID), after client.WithSocket(Socket).
	Dial []client.Option
}

// LogFile is where an auto-started daemon on socket logs: next to the
// socket, as SOCKET.log.
func LogFile(socket string) string { return socket + ".log" }

// After a lost race (another daemon holds the socket while it starts, or
// while it drains before exiting) Ensure waits for that daemon to serve,
// and starts one more only after firstRelaunch, doubling for each further
// loss.
const firstRelaunch = 250 * time.Millisecond

// probeTimeout bounds one probe: a daemon that accepted the connection but
// has not started serving yet gets that long to answer.
const probeTimeout = time.Second

// Ensure returns once a daemon serves on a.Socket, starting one when none
// does: detached, in its own session, with stdin the null device, stdout
// and stderr appended to LogFile(a.Socket) (see Start for the checks made
// first), no other descriptor of the caller, its settings from the
// MOTHREADS_* environment and --exit-idle. It polls the socket with a
// growing backoff (5 ms to 200 ms) until the daemon answers, as there is no
// event for another process starting to serve.
//
// When several callers race, each starts a daemon; the daemon's own lock
// lets one serve and the others exit with "already running", and every
// caller then finds the winner. A daemon that fails otherwise makes Ensure
// fail at once with the end of its log.
func Ensure(ctx context.Context, a Autostart) error {
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	args := []string{}
	if v := os.Getenv("MOTHREADS_EXIT_IDLE"); v == "" && a.ExitIdle > 0 {
		args = append(args, "--exit-idle", a.ExitIdle.String())
	}
	spec := Spec{Socket: a.Socket, Args: args, LogFile: LogFile(a.Socket), Detach: true}
	pace := backoff{next: 5 * time.Millisecond, most: 200 * time.Millisecond}
	var child *Child
	var relaunchAt time.Time
	gap := firstRelaunch
	var lastErr error
	for {
		st, err := Probe(ctx, probeTimeout, append([]client.Option{client.WithSocket(a.Socket)}, a.Dial...)...)
		if err == nil && st.Serving {
			return nil
		}
		if errors.Is(err, client.ErrUntrusted) {
			return err // starting one more daemon would not change that
		}
		if err == nil {
			err = errors.New("the daemon is shutting down")
		}
		lastErr = err
		var exited <-chan struct{}
		switch {
		case child != nil && !child.lostRace():
			select {
			case <-child.Done():
				return fmt.Errorf("the daemon started on %s exited: %v%s", a.Socket, child.Err(), logHint(child))
			default:
				exited = child.Done()
			}
		case child != nil && relaunchAt.IsZero():
			relaunchAt = time.Now().Add(gap)
			gap *= 2
		case child == nil || time.Now().After(relaunchAt):
			if child, err = Start(spec); err != nil {
				return err
			}
			relaunchAt = time.Time{}
			exited = child.Done()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no daemon serves on %s after %v (last: %v)%s", a.Socket, a.Timeout, lastErr, logHint(child))
		case <-exited:
		case <-pace.wait():
		}
	}
}

// logHint is the end of child's log, for an error message.
func logHint(child *Child) string {
	if child == nil {
		return ""
	}
	if tail := child.LogTail(2000); tail != "" {
		return fmt.Sprintf("; its log (%s) ends with:\n%s", child.spec.LogFile, tail)
	}
	return fmt.Sprintf("; see its log %s", child.spec.LogFile)
}

// WaitServing waits until the daemon c serves on its socket, polling with
// a growing backoff (5 ms to 200 ms), for at most timeout. It fails at once
// when c exits, with the end of its log.
func (c *Child) WaitServing(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pace := backoff{next: 5 * time.Millisecond, most: 200 * time.Millisecond}
	for {
		st, err := Probe(ctx, probeTimeout, client.WithSocket(c.spec.Socket))
		if err == nil && st.Serving {
			return nil
		}
		select {
		case <-c.Done():
			return fmt.Errorf("the daemon started on %s exited: %v%s", c.spec.Socket, c.Err(), logHint(c))
		case <-ctx.Done():
			return fmt.Errorf("no daemon serves on %s after %v (last: %v)%s", c.spec.Socket, timeout, err, logHint(c))
		case <-pace.wait():
		}
	}
}
