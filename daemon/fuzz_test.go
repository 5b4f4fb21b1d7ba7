//go:build unix

package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/pool"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// rawCodec sends a *rawMessage's bytes as they are, so that a fuzzer's
// bytes reach the daemon's own unmarshalling, and handles every other
// message as protobuf. Its name is "proto": the daemon decodes with its
// usual codec.
type rawCodec struct{}

type rawMessage []byte

func (rawCodec) Marshal(v any) ([]byte, error) {
	if r, ok := v.(*rawMessage); ok {
		return *r, nil
	}
	return proto.Marshal(v.(proto.Message))
}

func (rawCodec) Unmarshal(data []byte, v any) error { return proto.Unmarshal(data, v.(proto.Message)) }
func (rawCodec) Name() string                       { return "proto" }

// fuzzSafeName matches a valid session name (see pool.Request).
var fuzzSafeName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// fuzzSafeArgv0 are the only programs a fuzzed request may run.
var fuzzSafeArgv0 = []string{"echo", "/bin/echo", "true", "false", "printf", "no-such-command-fz"}

// defuse rewrites what a decoded request would run into something harmless
// that keeps the request's shape for validation: a script becomes a printf
// of its own text (so its output is known), argv[0] one of fuzzSafeArgv0,
// a valid session name one of two, a long timeout a short one. Values the
// validation must refuse (a NUL byte, emptiness, an invalid name) are kept
// as they are. It returns the output a successful call must print, and
// whether it is known.
func defuse(cmd *pb.Command) (want string, known bool) {
	if cmd == nil {
		return "", false
	}
	if s := string(cmd.GetScript()); s != "" && !strings.ContainsRune(s, 0) {
		cmd.Script = []byte("printf '%s' '" + strings.ReplaceAll(s, "'", `'\''`) + "'")
		want, known = s, true
	}
	if len(cmd.Argv) > 0 && len(cmd.Argv[0]) > 0 && !bytes.ContainsRune(cmd.Argv[0], 0) {
		cmd.Argv[0] = []byte(fuzzSafeArgv0[len(cmd.Argv[0])%len(fuzzSafeArgv0)])
		known = false
	}
	if fuzzSafeName.MatchString(cmd.GetSession()) {
		cmd.Session = "fz" + fmt.Sprint(len(cmd.Session)%2)
	}
	if d := cmd.GetTimeout(); d != nil && d.IsValid() && d.AsDuration() > 2*time.Second {
		cmd.Timeout = durationpb.New(2 * time.Second)
	}
	if d := cmd.GetKillGrace(); d != nil && d.IsValid() && d.AsDuration() > time.Second {
		cmd.KillGrace = durationpb.New(time.Second)
	}
	return want, known
}

// checkRefusal fails unless err is a status the daemon may answer a
// decodable request with: a refusal naming the offending field, or
// ResourceExhausted (a full queue, a request too large).
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.ResourceExhausted:
	case codes.InvalidArgument, codes.NotFound, codes.FailedPrecondition, codes.OutOfRange:
		if !strings.HasPrefix(st.Message(), `field "`) {
			t.Errorf("%v: the message does not name the field", err)
		}
	default:
		t.Errorf("unexpected error %v (code %v)", err, st.Code())
	}
}

// FuzzRequest sends arbitrary bytes as an Exec or Run request to a real
// daemon on a socket. Bytes that do not decode must be refused without
// harm; decodable requests are defused (see defuse) and must end in a
// result or a refusal that names the field (C9); no input may crash or hang
// the daemon, which must answer Status after each.
func FuzzRequest(f *testing.F) {
	seed := func(run bool, cmd *pb.Command) {
		b, err := proto.Marshal(&pb.ExecRequest{Command: cmd})
		if run {
			b, err = proto.Marshal(&pb.RunRequest{Command: cmd, OutputLimit: 100})
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, run)
	}
	seed(false, &pb.Command{Script: []byte("hello 'world'\n")})
	seed(true, &pb.Command{Argv: bs("echo", "a", "b"), Env: bs("A=1")})
	seed(false, &pb.Command{Argv: bs("x", "a\x00")})
	seed(true, &pb.Command{Script: []byte("s"), Cwd: []byte("/nonexistent"), Env: bs("1A=b")})
	seed(false, &pb.Command{Script: []byte("s"), Session: "sticky", Timeout: durationpb.New(-time.Second)})
	seed(true, &pb.Command{Script: []byte("s"), BaseEnv: &pb.BaseEnv{Vars: bs("X=\x00")}, StdinData: []byte("in")})
	seed(false, &pb.Command{Script: []byte("s"), Tty: &pb.WindowSize{Rows: 1, Cols: 1}, KillGrace: &durationpb.Duration{Nanos: -5}})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, false) // a length beyond the message
	f.Add([]byte{0x0a, 0x02, 0x9a, 0x05}, true)              // an unknown field inside Command

	// The default timeout ends the commands that fuzzed arguments make
	// long (printf '%999999999d' prints a gigabyte).
	d := startDaemon(f, daemon.Config{Pool: pool.Config{MinIdle: 1, MaxSessions: 4, IdleTimeout: time.Second,
		QueueTimeout: 5 * time.Second, DefaultTimeout: 2 * time.Second, KillGrace: 200 * time.Millisecond}})
	f.Fuzz(func(t *testing.T, data []byte, run bool) {
		var want string
		var known bool
		var req proto.Message = &pb.ExecRequest{}
		if run {
			req = &pb.RunRequest{}
		}
		decoded := proto.Unmarshal(data, req) == nil
		if decoded {
			if r, ok := req.(*pb.RunRequest); ok {
				want, known = defuse(r.GetCommand())
			} else {
				want, known = defuse(req.(*pb.ExecRequest).GetCommand())
			}
			b, err := proto.Marshal(req)
			if err != nil {
				t.Skip("does not marshal again:", err)
			}
			data = b
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, res, err := fuzzCall(ctx, d.conn, data, run)
		switch {
		case ctx.Err() != nil:
			t.Fatalf("the daemon hung on %q", data)
		case !decoded:
			if status.Code(err) == codes.OK {
				t.Errorf("undecodable bytes %q accepted", data)
			}
		case err != nil:
			checkRefusal(t, err)
		case res == nil:
			t.Errorf("no result and no error")
		case known && res.GetSignal() == 0 && !res.GetTimedOut() && !res.GetCancelled() && !res.GetSessionLost() &&
			res.GetExitCode() == 0 && (!bytes.HasPrefix([]byte(want), out) || !run && len(out) != len(want)):
			// Run may have cut the output at its limit.
			t.Errorf("stdout %q, want %q", out, want)
		}
		if _, err := d.rpc.Status(ctx, &pb.StatusRequest{}); err != nil {
			t.Fatalf("the daemon stopped answering after %q: %v", data, err)
		}
	})
}

// fuzzCall sends data as the request of Exec or Run and returns the stdout
// and the Exited event.
func fuzzCall(ctx context.Context, conn *grpc.ClientConn, data []byte, run bool) ([]byte, *pb.Exited, error) {
	raw := rawMessage(data)
	if run {
		var resp pb.RunResponse
		err := conn.Invoke(ctx, pb.Mothreads_Run_FullMethodName, &raw, &resp, grpc.ForceCodec(rawCodec{}))
		return resp.GetStdout(), resp.GetExited(), err
	}
	st, err := conn.NewStream(ctx, &pb.Mothreads_ServiceDesc.Streams[0], pb.Mothreads_Exec_FullMethodName, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return nil, nil, err
	}
	if err := st.SendMsg(&raw); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	if err := st.CloseSend(); err != nil {
		return nil, nil, err
	}
	var out []byte
	var exited *pb.Exited
	for {
		var ev pb.ExecEvent
		if err := st.RecvMsg(&ev); err != nil {
			if errors.Is(err, io.EOF) {
				return out, exited, nil
			}
			return out, exited, err
		}
		out = append(out, ev.GetStdout()...)
		if e := ev.GetExited(); e != nil {
			exited = e
		}
	}
}
