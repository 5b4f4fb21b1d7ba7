//go:build unix

package daemon_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/durationpb"
)

// wantFieldError checks that err is a status with code, a BadRequest
// violation naming field, and a message starting `field "FIELD": `.
func wantFieldError(t testing.TB, err error, code codes.Code, field string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Errorf("error %v, want code %v", err, code)
		return
	}
	if !strings.HasPrefix(st.Message(), `field "`+field+`": `) {
		t.Errorf("message %q, want it to start with field %q", st.Message(), field)
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) == 0 || fields[0] != field {
		t.Errorf("field violations %q, want %q first", fields, field)
	}
}

// TestValidation: bad requests are refused with the right code and the
// field named (C9), and the daemon goes on serving.
func TestValidation(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	unknown := &pb.Command{Script: []byte("true")}
	unknown.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
	for _, tc := range []struct {
		name  string
		cmd   *pb.Command
		code  codes.Code
		field string
	}{
		{"empty", &pb.Command{}, codes.InvalidArgument, "argv"},
		{"both", &pb.Command{Argv: bs("true"), Script: []byte("true")}, codes.InvalidArgument, "script"},
		{"nul-argv", &pb.Command{Argv: bs("echo", "a\x00b")}, codes.InvalidArgument, "argv[1]"},
		{"nul-script", &pb.Command{Script: []byte("echo \x00")}, codes.InvalidArgument, "script"},
		{"env-name", &pb.Command{Script: []byte("true"), Env: bs("OK=1", "1BAD=x")}, codes.InvalidArgument, "env[1]"},
		{"env-shape", &pb.Command{Script: []byte("true"), Env: bs("NOEQUALS")}, codes.InvalidArgument, "env[0]"},
		{"base-env-nul", &pb.Command{Script: []byte("true"), BaseEnv: &pb.BaseEnv{Vars: bs("A=\x00")}}, codes.InvalidArgument, "base_env.vars[0]"},
		{"cwd", &pb.Command{Script: []byte("true"), Cwd: []byte("/nonexistent/dir")}, codes.NotFound, "cwd"},
		{"argv0", &pb.Command{Argv: bs("no-such-command-here")}, codes.NotFound, "argv[0]"},
		{"negative-timeout", &pb.Command{Script: []byte("true"), Timeout: durationpb.New(-time.Second)}, codes.InvalidArgument, "timeout"},
		{"negative-grace", &pb.Command{Script: []byte("true"), KillGrace: durationpb.New(-time.Second)}, codes.InvalidArgument, "kill_grace"},
		{"bad-duration", &pb.Command{Script: []byte("true"), Timeout: &durationpb.Duration{Seconds: 1, Nanos: -1}}, codes.InvalidArgument, "timeout"},
		{"session-name", &pb.Command{Script: []byte("true"), Session: "a b"}, codes.InvalidArgument, "session"},
		{"tty-on-exec", &pb.Command{Script: []byte("true"), Tty: &pb.WindowSize{Rows: 24, Cols: 80}}, codes.InvalidArgument, "tty"},
		{"unknown-field", unknown, codes.InvalidArgument, "command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := d.rpc.Exec(context.Background(), &pb.ExecRequest{Command: tc.cmd})
			if err == nil {
				_, err = st.Recv()
			}
			wantFieldError(t, err, tc.code, tc.field)
			_, err = d.rpc.Run(context.Background(), &pb.RunRequest{Command: tc.cmd})
			wantFieldError(t, err, tc.code, tc.field)
		})
	}

	_, err := d.rpc.Run(context.Background(), &pb.RunRequest{Command: &pb.Command{Script: []byte("true")}, OutputLimit: -1})
	wantFieldError(t, err, codes.InvalidArgument, "output_limit")

	// The client sees the same as a *client.RequestError.
	_, err = d.client.Exec(context.Background(), &client.Request{Script: "true", Dir: "/nonexistent/dir"}, nil, nil)
	var re *client.RequestError
	if !errors.As(err, &re) || re.Code != codes.NotFound || re.Field != "cwd" {
		t.Errorf("client error %v, want a RequestError NotFound for cwd", err)
	}
	res, err := d.client.Exec(context.Background(), &client.Request{Script: "echo still serving"}, nil, nil)
	if err != nil || !res.Success() {
		t.Errorf("after the refusals: %v, %v", res, err)
	}
}

// TestRequestTooLarge: a request over MaxRequestBytes is refused with
// ResourceExhausted.
func TestRequestTooLarge(t *testing.T) {
	d := startDaemon(t, daemon.Config{MaxRequestBytes: 1 << 16})
	_, err := d.rpc.Run(context.Background(), &pb.RunRequest{Command: &pb.Command{Script: []byte("true"), StdinData: make([]byte, 1<<17)}})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("error %v, want ResourceExhausted", err)
	}
}
