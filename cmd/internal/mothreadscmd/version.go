package mothreadscmd

import (
	"fmt"

	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/execcmd"
	"github.com/mothreads/mothreads/cmd/internal/version"
	"github.com/spf13/cobra"
)

func newVersion(st execcmd.Streams, socketFlag func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of mothreads, and of the daemon when one answers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(st.Out, "mothreads %s\n", version.String())
			socket, err := cli.SocketPath(socketFlag())
			if err != nil {
				return cli.Exit(cli.ExitFailed, err)
			}
			if s := queryDaemon(cmd.Context(), socket); s != nil {
				fmt.Fprintf(st.Out, "daemon %s (pid %d, %s)\n", s.Version, s.PID, socket)
			} else {
				fmt.Fprintf(st.Out, "daemon: none answers at %s\n", socket)
			}
			return nil
		},
	}
}
