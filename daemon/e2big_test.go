//go:build linux

package daemon_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mothreads/mothreads/daemon"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc/codes"
)

// TestArgumentListTooLong (issue 11, L6): a program the kernel refuses to
// start for the size of its arguments or environment (E2BIG) is a refusal
// naming the field, InvalidArgument, not an Internal error; on every RPC.
func TestArgumentListTooLong(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	many := []string{"/bin/true"}
	for range 300_000 {
		many = append(many, "x")
	}
	big := strings.Repeat("y", 200_000)
	for _, tc := range []struct {
		name  string
		cmd   *pb.Command
		field string
	}{
		{"many-arguments", &pb.Command{Argv: bs(many...)}, "argv"},
		{"one-long-argument", &pb.Command{Argv: bs("/bin/true", "a", big)}, "argv[2]"},
		{"long-env", &pb.Command{Argv: bs("/bin/true"), Env: bs("A=1", "BIG="+big)}, "env[1]"},
		{"long-base-env", &pb.Command{Argv: bs("/bin/true"), BaseEnv: &pb.BaseEnv{Vars: bs("BIG=" + big)}}, "base_env.vars[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.rpc.Run(context.Background(), &pb.RunRequest{Command: tc.cmd})
			wantFieldError(t, err, codes.InvalidArgument, tc.field)
			st, err := d.rpc.Exec(context.Background(), &pb.ExecRequest{Command: tc.cmd})
			if err == nil {
				_, err = st.Recv()
			}
			wantFieldError(t, err, codes.InvalidArgument, tc.field)
		})
	}
}
