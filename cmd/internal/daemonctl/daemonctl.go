// Package daemonctl looks after a mothreads daemon from the outside: whether
// one serves on a socket (Probe), starting one as a child process (Start),
// making sure one serves, starting it when needed (Ensure, the CLI's
// auto-start), and waiting for one to exit (Watch).
//
// The daemon it starts is the running binary itself in its hidden daemon
// mode (`mothreads daemon`, see Subcommand), so that a machine where only
// the mothreads binary exists, even a temporary one built by `go run`, gets
// a daemon.
package daemonctl

import (
	"context"
	"time"

	"github.com/mothreads/mothreads/client"
)

// Subcommand is the hidden mothreads subcommand that runs the daemon; it
// takes the same flags as mothreadsd.
const Subcommand = "daemon"

// Probe asks the daemon that opts reach (client.WithSocket, or an address)
// for its status, waiting at most timeout. The error matches
// client.ErrUnavailable when nothing answers, client.ErrUntrusted when the
// socket failed the client's checks, and wraps context.DeadlineExceeded
// when something accepted the connection but did not answer in time (a
// daemon still starting).
func Probe(ctx context.Context, timeout time.Duration, opts ...client.Option) (*client.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := client.Dial(ctx, opts...)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Status(ctx)
}

// backoff yields growing waits, from first doubling up to most. It paces
// polls of another process's state, for which there is no event.
type backoff struct{ next, most time.Duration }

// wait returns a channel that fires after the next wait, and grows it.
func (b *backoff) wait() <-chan time.Time {
	d := b.next
	b.next = min(2*b.next, b.most)
	return time.After(d)
}
