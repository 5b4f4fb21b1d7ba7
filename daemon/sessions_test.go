//go:build linux

package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/daemon"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// stickyRun runs script in sticky session name and returns its output and
// Exited.
func stickyRun(t *testing.T, d *testDaemon, name, script string) (string, *pb.Exited) {
	t.Helper()
	resp, err := d.rpc.Run(context.Background(), &pb.RunRequest{Command: &pb.Command{Script: []byte(script), Session: name}})
	if err != nil {
		t.Fatalf("run %q in %s: %v", script, name, err)
	}
	return string(resp.GetStdout()), resp.GetExited()
}

// sessionOf returns the description of session name, or nil.
func sessionOf(t *testing.T, d *testDaemon, name string) *pb.SessionInfo {
	t.Helper()
	resp, err := d.rpc.ListSessions(context.Background(), &pb.ListSessionsRequest{Session: name})
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if err != nil {
		t.Fatalf("list sessions %s: %v", name, err)
	}
	if len(resp.GetSessions()) != 1 {
		t.Fatalf("list sessions %s: %d sessions, want 1", name, len(resp.GetSessions()))
	}
	return resp.GetSessions()[0]
}

// alive says whether process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := bytes.Cut(b, []byte(") "))
	return len(after) > 0 && after[0] != 'Z'
}

// TestStickySessionLifecycle: a session created with its own idle timeout
// is listed with its cwd and background job, in ListSessions and Status;
// the job's later output goes to Logs (followed); CloseSession ends the
// session, its job and the follower.
func TestStickySessionLifecycle(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	ctx := context.Background()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "go")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	resp, err := d.rpc.Run(ctx, &pb.RunRequest{Command: &pb.Command{
		Session:            "life",
		SessionIdleTimeout: durationpb.New(time.Hour),
		Script:             []byte(`cd '` + dir + `'; { read -r w < go; echo "bg got $w"; sleep 300; } & echo $!`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	bgPID, err := strconv.Atoi(strings.TrimSpace(string(resp.GetStdout())))
	if err != nil {
		t.Fatalf("background pid %q: %v", resp.GetStdout(), err)
	}
	info := sessionOf(t, d, "life")
	if info == nil {
		t.Fatal("session life not listed")
	}
	if string(info.GetCwd()) != dir || info.GetIdleTimeout().AsDuration() != time.Hour || info.GetBusy() || info.GetCalls() != 1 {
		t.Errorf("session %v, want cwd %s, idle timeout 1h, idle, 1 call", info, dir)
	}
	found := false
	for _, j := range info.GetJobs() {
		for _, pid := range j.GetPids() {
			found = found || int(pid) == bgPID
		}
	}
	if !found {
		t.Errorf("jobs %v do not hold the background pid %d", info.GetJobs(), bgPID)
	}
	st, err := d.rpc.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.GetSessions()) != 1 || st.GetSessions()[0].GetName() != "life" || st.GetPool().GetMaxSticky() < 1 {
		t.Errorf("status sessions %v, max sticky %d", st.GetSessions(), st.GetPool().GetMaxSticky())
	}

	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	follow, err := d.rpc.Logs(fctx, &pb.LogsRequest{Session: "life", Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	// The next call releases the job; its output goes to the log, not here.
	if out, ex := stickyRun(t, d, "life", "echo go > go; echo call"); out != "call\n" || ex.GetExitCode() != 0 {
		t.Errorf("second call: %q %v", out, ex)
	}
	var log []byte
	next := int64(0)
	for !bytes.Contains(log, []byte("bg got go\n")) {
		m, err := follow.Recv()
		if err != nil {
			t.Fatalf("logs: %v (so far %q)", err, log)
		}
		if m.GetOffset() != next || m.GetNextOffset() != next+int64(len(m.GetData())) {
			t.Errorf("chunk at %d..%d, want it to start at %d", m.GetOffset(), m.GetNextOffset(), next)
		}
		log, next = append(log, m.GetData()...), m.GetNextOffset()
	}
	// Without follow, Logs sends what is kept and ends.
	all, err := d.rpc.Logs(ctx, &pb.LogsRequest{Session: "life", Offset: -3})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := all.Recv(); err != nil || string(m.GetData()) != "go\n" {
		t.Errorf("last 3 bytes: %v %v", m, err)
	}
	if _, err := all.Recv(); err != io.EOF {
		t.Errorf("after the log: %v, want EOF", err)
	}

	if _, err := d.rpc.CloseSession(ctx, &pb.CloseSessionRequest{Session: "life"}); err != nil {
		t.Fatal(err)
	}
	if _, err := follow.Recv(); err != io.EOF {
		t.Errorf("follower after close: %v, want EOF", err)
	}
	if sessionOf(t, d, "life") != nil {
		t.Error("session still listed after close")
	}
	eventually(t, "the background job ends with its session", func() bool { return !alive(bgPID) })
	if _, err := d.rpc.CloseSession(ctx, &pb.CloseSessionRequest{Session: "life"}); status.Code(err) != codes.NotFound {
		t.Errorf("second close: %v, want NotFound", err)
	}
}

// execStarted starts cmd with Exec and returns the stream once Started
// came.
func execStarted(t *testing.T, ctx context.Context, d *testDaemon, cmd *pb.Command) pb.Mothreads_ExecClient {
	t.Helper()
	st, err := d.rpc.Exec(ctx, &pb.ExecRequest{Command: cmd})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := st.Recv()
	if err != nil || ev.GetStarted() == nil {
		t.Fatalf("first event %v, %v; want Started", ev, err)
	}
	return st
}

// drain reads a stream to Exited and returns its stdout.
func drain(t *testing.T, st pb.Mothreads_ExecClient) (string, *pb.Exited) {
	t.Helper()
	var out bytes.Buffer
	for {
		ev, err := st.Recv()
		if err != nil {
			t.Fatalf("stream: %v (stdout so far %q)", err, out.String())
		}
		out.Write(ev.GetStdout())
		if ex := ev.GetExited(); ex != nil {
			return out.String(), ex
		}
	}
}

// TestStickyInterruptAndTimeout: Interrupt and a sticky call's timeout stop
// the command with ^C (interrupted, 130, output so far) and keep the
// session's state.
func TestStickyInterruptAndTimeout(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	ctx := context.Background()
	stickyRun(t, d, "int", "X=kept; cd /")
	if _, err := d.rpc.Interrupt(ctx, &pb.InterruptRequest{Session: "int"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("interrupt of an idle session: %v, want InvalidArgument", err)
	}
	st := execStarted(t, ctx, d, &pb.Command{Session: "int", Script: []byte("echo before; sleep 300; echo after")})
	eventually(t, "the call runs", func() bool { i := sessionOf(t, d, "int"); return i != nil && i.GetBusy() })
	if _, err := d.rpc.Interrupt(ctx, &pb.InterruptRequest{Session: "int"}); err != nil {
		t.Fatal(err)
	}
	out, ex := drain(t, st)
	if out != "before\n" || !ex.GetInterrupted() || ex.GetExitCode() != 130 || ex.GetTimedOut() {
		t.Errorf("interrupted call: stdout %q, exited %v; want before, interrupted, 130", out, ex)
	}
	resp, err := d.rpc.Run(ctx, &pb.RunRequest{Command: &pb.Command{Session: "int", Script: []byte("sleep 300"),
		Timeout: durationpb.New(200 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	if ex := resp.GetExited(); !ex.GetInterrupted() || !ex.GetTimedOut() || ex.GetExitCode() != 130 {
		t.Errorf("timed-out sticky call: %v, want interrupted, timed out, 130", ex)
	}
	if out, _ := stickyRun(t, d, "int", `echo "$X $PWD"`); out != "kept /\n" {
		t.Errorf("state after the interrupts: %q, want %q", out, "kept /\n")
	}
}

// TestStickyInput: a call with open_stdin waits for its input, says so in
// ListSessions, and gets it through Input.
func TestStickyInput(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	ctx := context.Background()
	st := execStarted(t, ctx, d, &pb.Command{Session: "in", OpenStdin: true,
		Script: []byte(`read -r -p "name? " name; echo "hello $name"; cat`)})
	eventually(t, "the command waits for stdin", func() bool {
		i := sessionOf(t, d, "in")
		return i != nil && i.GetWaiting() == pb.InputWait_INPUT_WAIT_STDIN
	})
	if _, err := d.rpc.Input(ctx, &pb.InputRequest{Session: "in", Data: []byte("bob\n")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.rpc.Input(ctx, &pb.InputRequest{Session: "in", Data: []byte("rest\xff"), Eof: true}); err != nil {
		t.Fatal(err)
	}
	out, ex := drain(t, st)
	if out != "hello bob\nrest\xff" || ex.GetExitCode() != 0 {
		t.Errorf("stdout %q, exited %v", out, ex)
	}
	if _, err := d.rpc.Input(ctx, &pb.InputRequest{Session: "in", Data: []byte("x")}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("input to an idle session: %v, want InvalidArgument", err)
	}
}

// TestSessionRequestErrors: bad session requests name the field.
func TestSessionRequestErrors(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	ctx := context.Background()
	_, err := d.rpc.CloseSession(ctx, &pb.CloseSessionRequest{})
	wantFieldError(t, err, codes.InvalidArgument, "session")
	_, err = d.rpc.CloseSession(ctx, &pb.CloseSessionRequest{Session: "none"})
	wantFieldError(t, err, codes.NotFound, "session")
	_, err = d.rpc.Interrupt(ctx, &pb.InterruptRequest{Session: "none"})
	wantFieldError(t, err, codes.NotFound, "session")
	_, err = d.rpc.Input(ctx, &pb.InputRequest{Session: "none", Data: []byte("x")})
	wantFieldError(t, err, codes.NotFound, "session")
	_, err = d.rpc.Input(ctx, &pb.InputRequest{Session: "none"})
	wantFieldError(t, err, codes.InvalidArgument, "data")
	_, err = d.rpc.ListSessions(ctx, &pb.ListSessionsRequest{Session: "none"})
	wantFieldError(t, err, codes.NotFound, "session")
	logs, err := d.rpc.Logs(ctx, &pb.LogsRequest{Session: "none", Follow: true})
	if err == nil {
		_, err = logs.Recv()
	}
	wantFieldError(t, err, codes.NotFound, "session")
	for _, tc := range []struct {
		cmd   *pb.Command
		field string
	}{
		{&pb.Command{Script: []byte("true"), SessionIdleTimeout: durationpb.New(time.Second)}, "session_idle_timeout"},
		{&pb.Command{Script: []byte("true"), Session: "s", SessionIdleTimeout: durationpb.New(-time.Second)}, "session_idle_timeout"},
		{&pb.Command{Script: []byte("true"), OpenStdin: true}, "open_stdin"},
		{&pb.Command{Script: []byte("true"), Session: "s", OpenStdin: true, StdinData: []byte("x")}, "open_stdin"},
	} {
		_, err := d.rpc.Run(ctx, &pb.RunRequest{Command: tc.cmd})
		wantFieldError(t, err, codes.InvalidArgument, tc.field)
	}
}

// TestSessionRPCsNeedAccess: over TCP with a token, every session RPC is
// refused without the token, as Run is, and served with it.
func TestSessionRPCsNeedAccess(t *testing.T) {
	tokenFile := filepath.Join(shortTempDir(t), "token")
	const token = "s3cret-0123456789"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, daemon.Config{Listen: "127.0.0.1:0", TokenFile: tokenFile})
	addr := d.tcpAddr(t)
	stickyRun(t, d, "mine", "true")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rpc := pb.NewMothreadsClient(conn)
	calls := map[string]func(context.Context) error{
		"ListSessions": func(ctx context.Context) error {
			_, err := rpc.ListSessions(ctx, &pb.ListSessionsRequest{})
			return err
		},
		"Interrupt": func(ctx context.Context) error {
			_, err := rpc.Interrupt(ctx, &pb.InterruptRequest{Session: "mine"})
			return err
		},
		"Input": func(ctx context.Context) error {
			_, err := rpc.Input(ctx, &pb.InputRequest{Session: "mine", Data: []byte("x")})
			return err
		},
		"Logs": func(ctx context.Context) error {
			s, err := rpc.Logs(ctx, &pb.LogsRequest{Session: "mine"})
			if err == nil {
				_, err = s.Recv()
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		},
		"CloseSession": func(ctx context.Context) error { // last: it ends the session
			_, err := rpc.CloseSession(ctx, &pb.CloseSessionRequest{Session: "mine"})
			return err
		},
	}
	want := map[string]codes.Code{"ListSessions": codes.OK, "Interrupt": codes.InvalidArgument,
		"Input": codes.InvalidArgument, "Logs": codes.OK, "CloseSession": codes.OK}
	for _, name := range []string{"ListSessions", "Interrupt", "Input", "Logs", "CloseSession"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if code := status.Code(calls[name](ctx)); code != codes.Unauthenticated {
			t.Errorf("%s without a token: %v, want Unauthenticated", name, code)
		}
		authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		if code := status.Code(calls[name](authed)); code != want[name] {
			t.Errorf("%s with the token: %v, want %v", name, code, want[name])
		}
		cancel()
	}
	if sessionOf(t, d, "mine") != nil {
		t.Error("session still there after an authorised close")
	}
}
