package client_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mothreads/mothreads/client"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// sessionFake serves the sticky session RPCs with one canned session
// "dev"; every other name is NotFound, as the daemon says it.
type sessionFake struct {
	pb.UnimplementedMothreadsServer
	mu      sync.Mutex
	got     []string // "Method session" of every call, and its session header
	inputs  []*pb.InputRequest
	logReqs []*pb.LogsRequest
}

var devSession = &pb.SessionInfo{
	Name: "dev", Pid: 77, Cwd: []byte("/src/\xffrepo"), CreatedAt: timestamppb.New(t0),
	LastUsedAt: timestamppb.New(t0.Add(time.Minute)), Calls: 3, Busy: true,
	Waiting: pb.InputWait_INPUT_WAIT_STDIN, IdleTimeout: durationpb.New(time.Hour),
	Jobs:     []*pb.Job{{Pgid: 80, Pids: []int32{80, 81}, State: "running", Command: "python3 -m http.server"}},
	LogBytes: 12,
}

func (f *sessionFake) note(ctx context.Context, what, name string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	header := ""
	if v := md.Get("mothreads-session"); len(v) > 0 {
		header = v[0]
	}
	f.mu.Lock()
	f.got = append(f.got, what+" "+name+" header="+header)
	f.mu.Unlock()
	if name != "" && name != "dev" {
		return reject(codes.NotFound, "session", `no sticky session "`+name+`"`)
	}
	return nil
}

func (f *sessionFake) ListSessions(ctx context.Context, req *pb.ListSessionsRequest) (*pb.ListSessionsResponse, error) {
	if err := f.note(ctx, "List", req.GetSession()); err != nil {
		return nil, err
	}
	return &pb.ListSessionsResponse{Sessions: []*pb.SessionInfo{devSession}}, nil
}

func (f *sessionFake) CloseSession(ctx context.Context, req *pb.CloseSessionRequest) (*pb.CloseSessionResponse, error) {
	return &pb.CloseSessionResponse{}, f.note(ctx, "Close", req.GetSession())
}

func (f *sessionFake) Interrupt(ctx context.Context, req *pb.InterruptRequest) (*pb.InterruptResponse, error) {
	return &pb.InterruptResponse{}, f.note(ctx, "Interrupt", req.GetSession())
}

func (f *sessionFake) Input(ctx context.Context, req *pb.InputRequest) (*pb.InputResponse, error) {
	f.mu.Lock()
	f.inputs = append(f.inputs, req)
	f.mu.Unlock()
	return &pb.InputResponse{}, f.note(ctx, "Input", req.GetSession())
}

// Logs sends two chunks with a gap between them (bytes 3..9 were lost).
func (f *sessionFake) Logs(req *pb.LogsRequest, st pb.Mothreads_LogsServer) error {
	f.mu.Lock()
	f.logReqs = append(f.logReqs, req)
	f.mu.Unlock()
	if err := f.note(st.Context(), "Logs", req.GetSession()); err != nil {
		return err
	}
	for _, m := range []*pb.LogsResponse{
		{Data: []byte("abc"), Offset: 0, NextOffset: 3},
		{Data: []byte("\x00z\n"), Offset: 10, NextOffset: 13},
	} {
		if err := st.Send(m); err != nil {
			return err
		}
	}
	return nil
}

func startSessionFake(t *testing.T) (*sessionFake, *client.Client) {
	t.Helper()
	sock, lis := listenShort(t)
	f := &sessionFake{}
	serveOn(t, lis, f)
	c, err := client.Dial(context.Background(), client.WithSocket(sock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return f, c
}

// TestSessionMethods: each method sends its request (with the session
// header that routes it), converts the answer, and types the refusals.
func TestSessionMethods(t *testing.T) {
	f, c := startSessionFake(t)
	ctx := context.Background()
	want := client.SessionInfo{
		Name: "dev", PID: 77, Dir: "/src/\xffrepo", CreatedAt: t0, LastUsedAt: t0.Add(time.Minute), Calls: 3, Busy: true,
		Waiting: "stdin", IdleTimeout: time.Hour, LogBytes: 12,
		Jobs: []client.Job{{PGID: 80, PIDs: []int{80, 81}, State: "running", Command: "python3 -m http.server"}},
	}
	list, err := c.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]client.SessionInfo{want}, list); diff != "" {
		t.Errorf("Sessions (-want +got):\n%s", diff)
	}
	one, err := c.Session(ctx, "dev")
	if err != nil || !cmp.Equal(*one, want) {
		t.Errorf("Session: %+v, %v", one, err)
	}
	if err := c.Interrupt(ctx, "dev"); err != nil {
		t.Error(err)
	}
	if err := c.Input(ctx, "dev", []byte("y\n"), true, false); err != nil {
		t.Error(err)
	}
	if err := c.CloseSession(ctx, "dev"); err != nil {
		t.Error(err)
	}
	var log bytes.Buffer
	next, skipped, err := c.Logs(ctx, "dev", 0, true, &log)
	if err != nil || next != 13 || skipped != 7 || log.String() != "abc\x00z\n" {
		t.Errorf("Logs: next %d skipped %d log %q err %v; want 13, 7, abc\\0z\\n", next, skipped, log.String(), err)
	}
	if _, skipped, _ := c.Logs(ctx, "dev", -6, false, &log); skipped != 7 {
		t.Errorf("Logs from the end: skipped %d, want 7 (the gap after the first chunk)", skipped)
	}
	f.mu.Lock()
	if in := f.inputs[0]; string(in.GetData()) != "y\n" || !in.GetEof() || in.GetTty() {
		t.Errorf("input request %v", in)
	}
	if lr := f.logReqs[0]; lr.GetOffset() != 0 || !lr.GetFollow() || f.logReqs[1].GetOffset() != -6 || f.logReqs[1].GetFollow() {
		t.Errorf("logs requests %v", f.logReqs)
	}
	wantGot := []string{"List  header=", "List dev header=dev", "Interrupt dev header=dev", "Input dev header=dev",
		"Close dev header=dev", "Logs dev header=dev", "Logs dev header=dev"}
	if diff := cmp.Diff(wantGot, f.got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	f.mu.Unlock()

	for name, call := range map[string]func() error{
		"Session":      func() error { _, err := c.Session(ctx, "gone"); return err },
		"Interrupt":    func() error { return c.Interrupt(ctx, "gone") },
		"Input":        func() error { return c.Input(ctx, "gone", []byte("x"), false, false) },
		"CloseSession": func() error { return c.CloseSession(ctx, "gone") },
		"Logs":         func() error { _, _, err := c.Logs(ctx, "gone", 0, false, &log); return err },
	} {
		err := call()
		var re *client.RequestError
		if !errors.As(err, &re) || re.Field != "session" || status.Code(err) != codes.NotFound || !errors.Is(err, client.ErrNoSession) {
			t.Errorf("%s of a missing session: %v, want a NotFound RequestError for field session matching ErrNoSession", name, err)
		}
		if errors.Is(err, client.ErrSessionLost) {
			t.Errorf("%s: %v matches ErrSessionLost", name, err)
		}
	}
}

// TestSessionRequestFields: the sticky fields of Request and Cmd reach the
// Command, and Exited.interrupted reaches the Result.
func TestSessionRequestFields(t *testing.T) {
	d := startFake(t)
	ctx := context.Background()
	cmd := client.Command(ctx, "echo", "hi")
	cmd.Client, cmd.Session, cmd.SessionIdleTimeout, cmd.OpenStdin = d.client, "dev", time.Hour, true
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	got := d.lastCall(t).cmd
	if got.GetSession() != "dev" || got.GetSessionIdleTimeout().AsDuration() != time.Hour || !got.GetOpenStdin() {
		t.Errorf("command %v, want session dev, idle timeout 1h, open stdin", got)
	}
	if _, err := d.client.Run(ctx, &client.Request{Argv: []string{"true"}, Session: "dev"}, 0); err != nil {
		t.Fatal(err)
	}
	if got := d.lastCall(t).cmd; got.GetSessionIdleTimeout() != nil || got.GetOpenStdin() {
		t.Errorf("command %v sets sticky fields it was not given", got)
	}
	r := &client.Result{ExitCode: 130, Interrupted: true, TimedOut: true}
	if r.Success() || r.String() != "exit status 130 (timed out) (interrupted)" {
		t.Errorf("result %q success %v", r.String(), r.Success())
	}
}
