package mothreadscmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/daemonctl"
	"github.com/mothreads/mothreads/cmd/internal/execcmd"
	"github.com/mothreads/mothreads/cmd/internal/target"
	"github.com/spf13/cobra"
)

func newStop(st execcmd.Streams, resolve func() (target.Target, error)) *cobra.Command {
	var skipDrain bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "stop",
		Short: "Shut the daemon down in order and wait until it has exited",
		Long: `Ask the daemon for an ordered shutdown (it stops accepting calls, lets calls in
flight finish until its --drain-timeout, stops its sessions and removes its
socket) and wait until it has exited.

Exit status 0 once it has exited, or when no daemon was running (a note on
stderr says so); 125 when it could not be asked or did not exit within
--wait.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tg, err := resolve()
			if err != nil {
				return err
			}
			if tg.Socket == "" {
				return cli.Exit(cli.ExitFailed, fmt.Errorf("stop works on one daemon through its socket, not over --address %s (send that daemon SIGTERM)", tg.Address))
			}
			return stop(cmd.Context(), st, tg, skipDrain, wait)
		},
	}
	cmd.Flags().BoolVar(&skipDrain, "skip-drain", false, "cancel the calls in flight at once instead of letting them finish")
	cmd.Flags().DurationVar(&wait, "wait", time.Minute, "how long to wait for the daemon to exit")
	return cmd
}

func stop(ctx context.Context, st execcmd.Streams, tg target.Target, skipDrain bool, wait time.Duration) error {
	socket := tg.Socket
	c, err := client.Dial(ctx, tg.Options...)
	if err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	defer c.Close()
	qctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	if _, err := c.Status(qctx); err != nil {
		if errors.Is(err, client.ErrUnavailable) {
			fmt.Fprintf(st.Err, "mothreads: no daemon running at %s\n", socket)
			return nil
		}
		return cli.Exit(cli.ExitFailed, err)
	}
	watch, err := daemonctl.NewWatch(socket)
	if err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	if err := c.Shutdown(qctx, skipDrain); err != nil && !errors.Is(err, client.ErrUnavailable) {
		return cli.Exit(cli.ExitFailed, err)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := watch.Wait(wctx); err != nil {
		return cli.Exit(cli.ExitFailed, err)
	}
	return nil
}
