//go:build unix

package daemon_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
)

// TestExecExactOutput: stdout and stderr arrive separately and byte for
// byte (C1): NUL bytes, invalid UTF-8, no trailing newline; argv is passed
// without re-splitting or expansion; stdin_data reaches the command.
func TestExecExactOutput(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	ctx := context.Background()
	for _, tc := range []struct {
		name           string
		req            client.Request
		stdout, stderr string
	}{
		{"binary", client.Request{Script: `printf 'a\0b\377\n\0'; printf 'e\0rr' >&2`}, "a\x00b\xff\n\x00", "e\x00rr"},
		{"no-newline", client.Request{Script: "printf done"}, "done", ""},
		{"argv", client.Request{Argv: []string{"printf", "%s|", "a b", "*", "$HOME", "x\ny"}}, "a b|*|$HOME|x\ny|", ""},
		{"stdin-data", client.Request{Argv: []string{"cat"}, Stdin: bytes.NewReader([]byte("in\x00put"))}, "in\x00put", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			res, err := d.client.Exec(ctx, &tc.req, &stdout, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Success() {
				t.Errorf("result %v, want success", res)
			}
			if stdout.String() != tc.stdout || stderr.String() != tc.stderr {
				t.Errorf("stdout %q stderr %q, want %q %q", stdout.String(), stderr.String(), tc.stdout, tc.stderr)
			}
		})
	}
}

// TestExecEvents checks the stream at the protocol level: Started first
// (with session, pid and timestamps), output in chunks of at most 32 KiB
// that add up to the exact output, Exited last.
func TestExecEvents(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	const n = 300_000
	st, err := d.rpc.Exec(context.Background(), &pb.ExecRequest{Command: &pb.Command{
		Script: []byte("head -c 300000 /dev/zero | tr '\\0' x"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var events []*pb.ExecEvent
	for {
		ev, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	if len(events) < 3 {
		t.Fatalf("%d events, want Started, output, Exited", len(events))
	}
	s := events[0].GetStarted()
	if s == nil || s.GetSession() == "" || s.GetPid() <= 0 || s.GetQueuedAt() == nil || s.GetStartedAt() == nil {
		t.Errorf("first event %v, want a complete Started", events[0])
	}
	e := events[len(events)-1].GetExited()
	if e == nil || e.GetExitCode() != 0 || e.GetFinishedAt() == nil {
		t.Errorf("last event %v, want Exited with code 0", events[len(events)-1])
	}
	total := 0
	for _, ev := range events[1 : len(events)-1] {
		out := ev.GetStdout()
		if out == nil || len(out) > 32<<10 {
			t.Fatalf("middle event %T with %d bytes, want stdout chunks of at most 32 KiB", ev.GetEvent(), len(out))
		}
		if strings.Trim(string(out), "x") != "" {
			t.Fatalf("chunk holds something else than the output")
		}
		total += len(out)
	}
	if total != n {
		t.Errorf("%d bytes of output, want %d", total, n)
	}
}

// TestExecStatus: exit codes and death by signal are reported exactly (C2).
func TestExecStatus(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	for _, tc := range []struct {
		name   string
		req    client.Request
		code   int
		signal syscall.Signal
	}{
		{"exit-0", client.Request{Script: "true"}, 0, 0},
		{"exit-3", client.Request{Script: "exit 3"}, 3, 0},
		{"exit-255", client.Request{Argv: []string{"sh", "-c", "exit 255"}}, 255, 0},
		{"sigterm", client.Request{Argv: []string{"sh", "-c", "kill -TERM $$"}}, -1, syscall.SIGTERM},
		{"sigkill", client.Request{Argv: []string{"sh", "-c", "kill -KILL $$"}}, -1, syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := d.client.Exec(context.Background(), &tc.req, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tc.code || res.Signal != tc.signal || res.TimedOut || res.Cancelled || res.SessionLost {
				t.Errorf("result %+v, want exit code %d signal %d", res, tc.code, tc.signal)
			}
		})
	}
}

// TestExecTimeout: a call's timeout kills it and says so.
func TestExecTimeout(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	res, err := d.client.Exec(context.Background(), &client.Request{Script: "echo started; sleep 300", Timeout: 100e6}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.Success() {
		t.Errorf("result %+v, want timed out", res)
	}
}

// TestRunTruncates: Run keeps the first output_limit bytes of each stream
// and says which stream was cut; the daemon's cap wins over a larger limit.
func TestRunTruncates(t *testing.T) {
	d := startDaemon(t, daemon.Config{RunOutputLimit: 100})
	ctx := context.Background()
	res, err := d.client.Run(ctx, &client.Request{Script: "printf 0123456789abcdef; printf xy >&2; exit 4"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := client.RunResult{Stdout: []byte("0123456789"), Stderr: []byte("xy"), StdoutTruncated: true}
	if diff := cmp.Diff(want, *res, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Result" }, cmp.Ignore())); diff != "" {
		t.Errorf("Run (-want +have):\n%s", diff)
	}
	if res.ExitCode != 4 {
		t.Errorf("exit code %d, want 4", res.ExitCode)
	}

	res, err = d.client.Run(ctx, &client.Request{Script: "head -c 1000 /dev/zero"}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) != 100 || !res.StdoutTruncated || !res.Success() {
		t.Errorf("%d bytes, truncated %v, %v; want the daemon's cap of 100, truncated, success", len(res.Stdout), res.StdoutTruncated, res.Result)
	}

	res, err = d.client.Run(ctx, &client.Request{Script: "cat", Stdin: strings.NewReader("whole\x00input")}, 0)
	if err != nil || string(res.Stdout) != "whole\x00input" || res.StdoutTruncated {
		t.Errorf("Run with stdin = %q, %v; want the input back", res.Stdout, err)
	}
}

// TestStatus reports the daemon and its pool.
func TestStatus(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	if _, err := d.client.Exec(context.Background(), &client.Request{Script: "true"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	st, err := d.client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != "test" || st.PID != os.Getpid() || !st.Serving || st.StartedAt.IsZero() {
		t.Errorf("status %+v, want version test, our pid, serving, a start time", st)
	}
	if st.Calls.Started < 1 || st.Calls.OK < 1 || st.Pool.MaxSessions < 1 {
		t.Errorf("figures %+v %+v, want a started and ok call and a session limit", st.Calls, st.Pool)
	}
}

// TestReflection: gRPC reflection lists the service and health, as grpcurl
// would ask.
func TestReflection(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	st, err := reflectionpb.NewServerReflectionClient(d.conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.CloseSend()
	if err := st.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"mothreads.v1.Mothreads", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("services %q, want %s among them", names, want)
		}
	}
}
