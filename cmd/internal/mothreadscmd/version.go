package mothreadscmd

import (
	"errors"
	"fmt"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/target"

	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/execcmd"
	"github.com/mothreads/mothreads/cmd/internal/version"
	"github.com/spf13/cobra"
)

func newVersion(st execcmd.Streams, resolve func() (target.Target, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of mothreads, and of the daemon when one answers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(st.Out, "mothreads %s\n", version.String())
			tg, err := resolve()
			if err != nil {
				return err
			}
			s, err := queryDaemon(cmd.Context(), tg)
			switch {
			case err == nil:
				fmt.Fprintf(st.Out, "daemon %s (pid %d, %s)\n", s.Version, s.PID, tg)
			case errors.Is(err, client.ErrUntrusted):
				return cli.Exit(cli.ExitFailed, err)
			default:
				fmt.Fprintf(st.Out, "daemon: none answers at %s\n", tg)
			}
			return nil
		},
	}
}
