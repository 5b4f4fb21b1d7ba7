package client_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fake is an in-process daemon. It runs no shell: argv[0] picks a canned
// behaviour (see run), and every call is recorded.
type fake struct {
	pb.UnimplementedMothreadsServer

	mu       sync.Mutex
	calls    []call                // every call, in arrival order
	auth     []string              // the authorization header of every call
	shutdown []*pb.ShutdownRequest // every Shutdown request

	running chan struct{} // "block" calls: one value when one starts
	blocked chan struct{} // "block" calls: closed when the first one's context is done
	once    sync.Once
}

// call is one recorded command and the RPC that carried it.
type call struct {
	method string // "Exec", "Attach" or "Run"
	cmd    *pb.Command
}

var (
	t0        = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	startedEv = &pb.Started{Session: "session-1", Pid: 4242,
		QueuedAt: timestamppb.New(t0), StartedAt: timestamppb.New(t0.Add(time.Millisecond))}
)

// daemon is a running fake with a Client connected to it.
type daemon struct {
	*fake
	socket string
	client *client.Client
}

// startFake serves a fake on a Unix socket in a short temporary directory
// (socket paths are limited to ~107 bytes) and dials it; the test's cleanup
// closes the client, stops the server and removes the directory.
func startFake(t *testing.T, opts ...client.Option) *daemon {
	t.Helper()
	sock, lis := listenShort(t)
	f := serveFake(t, lis)
	c, err := client.Dial(context.Background(), append([]client.Option{client.WithSocket(sock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &daemon{fake: f, socket: sock, client: c}
}

// listenShort listens on a Unix socket in a short temporary directory
// (socket paths are limited to ~107 bytes) that the test's cleanup removes.
func listenShort(t *testing.T) (string, net.Listener) {
	t.Helper()
	sock := filepath.Join(shortDir(t), "d.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	return sock, lis
}

// serveFake serves a new fake on lis until the test's cleanup.
func serveFake(t *testing.T, lis net.Listener, opts ...grpc.ServerOption) *fake {
	f := &fake{blocked: make(chan struct{}), running: make(chan struct{}, 1)}
	opts = append(opts, grpc.UnaryInterceptor(f.unaryAuth), grpc.StreamInterceptor(f.streamAuth))
	serveOn(t, lis, f, opts...)
	return f
}

// serveOn serves impl on lis until the test's cleanup.
func serveOn(t *testing.T, lis net.Listener, impl pb.MothreadsServer, opts ...grpc.ServerOption) {
	srv := grpc.NewServer(opts...)
	pb.RegisterMothreadsServer(srv, impl)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-served })
}

func (f *fake) record(ctx context.Context, method string, cmd *pb.Command) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if method != "" {
		f.calls = append(f.calls, call{method, cmd})
	}
	md, _ := metadata.FromIncomingContext(ctx)
	f.auth = append(f.auth, strings.Join(md.Get("authorization"), ","))
}

func (f *fake) unaryAuth(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	f.record(ctx, "", nil)
	return h(ctx, req)
}

func (f *fake) streamAuth(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	f.record(ss.Context(), "", nil)
	return h(srv, ss)
}

// lastCall returns the most recent recorded call.
func (f *fake) lastCall(t *testing.T) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("the fake received no call")
	}
	return f.calls[len(f.calls)-1]
}

// reject is a refusal with a BadRequest detail naming field.
func reject(code codes.Code, field, msg string) error {
	st := status.New(code, fmt.Sprintf("field %q: %s", field, msg))
	st, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: field, Description: msg},
	}})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

// run plays the command named by argv[0]:
//
//	echo ARGS...   prints ARGS and a newline
//	interleave     prints o1, e1, o2, e2 alternately on stdout and stderr
//	fail N         prints "oops\n" on stderr, exits N
//	kill N         prints "partial", dies by signal N (core dumped for 11)
//	timeout        killed by SIGTERM on the daemon's timeout
//	lost           its session dies
//	cat            copies stdin to stdout
//	controls       prints each signal and resize it gets until stdin ends
//	block          waits for the call's context to end
//	reject         refused: InvalidArgument, field "cwd", with BadRequest
//	notfound       refused: NotFound, field "argv[0]", with BadRequest
//	busy           refused: ResourceExhausted, the field only in the message
//
// A script is printed as it is.
func (f *fake) run(ctx context.Context, cmd *pb.Command, stdin <-chan []byte, ctrl <-chan *pb.AttachRequest, emit func(*pb.ExecEvent) error) (*pb.Exited, error) {
	argv := strs(cmd.GetArgv())
	if len(argv) == 0 {
		argv = []string{"script"}
	}
	switch argv[0] {
	case "reject":
		return nil, reject(codes.InvalidArgument, "cwd", "must be absolute")
	case "notfound":
		return nil, reject(codes.NotFound, "argv[0]", "no such command")
	case "busy":
		return nil, status.Error(codes.ResourceExhausted, `field "timeout": no session within the queue timeout`)
	}
	out := func(s string) { _ = emit(&pb.ExecEvent{Event: &pb.ExecEvent_Stdout{Stdout: []byte(s)}}) }
	errOut := func(s string) { _ = emit(&pb.ExecEvent{Event: &pb.ExecEvent_Stderr{Stderr: []byte(s)}}) }
	if err := emit(&pb.ExecEvent{Event: &pb.ExecEvent_Started{Started: startedEv}}); err != nil {
		return nil, err
	}
	ex := &pb.Exited{Session: "session-1", Pid: 4242, FinishedAt: timestamppb.New(t0.Add(time.Second))}
	arg := func() int32 {
		n, _ := strconv.Atoi(argv[len(argv)-1])
		return int32(n)
	}
	switch argv[0] {
	case "script":
		out(string(cmd.GetScript()))
	case "echo":
		out(strings.Join(argv[1:], " ") + "\n")
	case "interleave":
		out("o1")
		errOut("e1")
		out("o2")
		errOut("e2")
	case "fail":
		errOut("oops\n")
		ex.ExitCode = arg()
	case "kill":
		out("partial")
		ex.ExitCode, ex.Signal, ex.CoreDumped = -1, arg(), arg() == 11
	case "timeout":
		ex.ExitCode, ex.Signal, ex.TimedOut, ex.Message = -1, 15, true, "timed out after 1s"
	case "lost":
		ex.ExitCode, ex.SessionLost, ex.Message = -1, true, "the shell died"
	case "cat":
		for b := range stdin {
			out(string(b))
		}
	case "controls":
		for done := false; !done; {
			select {
			case _, ok := <-stdin:
				done = !ok
			case m := <-ctrl:
				out(describe(m))
			}
		}
		for len(ctrl) > 0 { // sent before close_stdin, so already queued
			out(describe(<-ctrl))
		}
	case "block":
		f.running <- struct{}{}
		<-ctx.Done()
		f.once.Do(func() { close(f.blocked) })
		return nil, ctx.Err()
	default:
		errOut(argv[0] + ": command not found\n")
		ex.ExitCode = 127
	}
	return ex, nil
}

func describe(m *pb.AttachRequest) string {
	switch v := m.GetMsg().(type) {
	case *pb.AttachRequest_Signal:
		return fmt.Sprintf("signal %d\n", v.Signal)
	case *pb.AttachRequest_Resize:
		return fmt.Sprintf("resize %dx%d\n", v.Resize.GetRows(), v.Resize.GetCols())
	}
	return fmt.Sprintf("unexpected %v\n", m)
}

// dataStdin is a closed channel holding data, or nothing when it is empty.
func dataStdin(data []byte) <-chan []byte {
	ch := make(chan []byte, 1)
	if len(data) > 0 {
		ch <- data
	}
	close(ch)
	return ch
}

func (f *fake) Exec(req *pb.ExecRequest, st pb.Mothreads_ExecServer) error {
	f.record(st.Context(), "Exec", req.GetCommand())
	ex, err := f.run(st.Context(), req.GetCommand(), dataStdin(req.GetCommand().GetStdinData()), nil, st.Send)
	if err != nil {
		return err
	}
	return st.Send(&pb.ExecEvent{Event: &pb.ExecEvent_Exited{Exited: ex}})
}

func (f *fake) Attach(st pb.Mothreads_AttachServer) error {
	first, err := st.Recv()
	if err != nil {
		return err
	}
	cmd := first.GetStart()
	if cmd == nil {
		return reject(codes.InvalidArgument, "start", "the first message must be start")
	}
	f.record(st.Context(), "Attach", cmd)
	ctx := st.Context()
	stdin, ctrl := make(chan []byte), make(chan *pb.AttachRequest, 16)
	go func() { // ends when the stream does, at the latest when Attach returns
		open := true
		defer func() {
			if open {
				close(stdin)
			}
		}()
		for {
			m, err := st.Recv()
			if err != nil {
				return
			}
			switch v := m.GetMsg().(type) {
			case *pb.AttachRequest_Stdin:
				if open {
					select {
					case stdin <- v.Stdin:
					case <-ctx.Done():
						return
					}
				}
			case *pb.AttachRequest_CloseStdin:
				if open {
					open = false
					close(stdin)
				}
			default:
				ctrl <- m
			}
		}
	}()
	ex, err := f.run(ctx, cmd, stdin, ctrl, st.Send)
	if err != nil {
		return err
	}
	return st.Send(&pb.ExecEvent{Event: &pb.ExecEvent_Exited{Exited: ex}})
}

func (f *fake) Run(ctx context.Context, req *pb.RunRequest) (*pb.RunResponse, error) {
	f.record(ctx, "Run", req.GetCommand())
	resp := &pb.RunResponse{}
	limit := int(req.GetOutputLimit())
	keep := func(buf *[]byte, trunc *bool, b []byte) {
		*buf = append(*buf, b...)
		if limit > 0 && len(*buf) > limit {
			*buf, *trunc = (*buf)[:limit], true
		}
	}
	ex, err := f.run(ctx, req.GetCommand(), dataStdin(req.GetCommand().GetStdinData()), nil, func(ev *pb.ExecEvent) error {
		switch e := ev.GetEvent().(type) {
		case *pb.ExecEvent_Stdout:
			keep(&resp.Stdout, &resp.StdoutTruncated, e.Stdout)
		case *pb.ExecEvent_Stderr:
			keep(&resp.Stderr, &resp.StderrTruncated, e.Stderr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.Exited = ex
	return resp, nil
}

func (f *fake) Status(context.Context, *pb.StatusRequest) (*pb.StatusResponse, error) {
	return &pb.StatusResponse{
		Version: "v0.0.0-fake", Pid: 99, StartedAt: timestamppb.New(t0), Serving: true,
		Pool:  &pb.PoolStatus{SessionsIdle: 2, SessionsBusy: 1, SessionsSpawned: 7, MaxSessions: 8},
		Calls: &pb.CallStatus{Started: 10, Ok: 9, Failed: 1},
	}, nil
}

func (f *fake) Shutdown(_ context.Context, req *pb.ShutdownRequest) (*pb.ShutdownResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shutdown = append(f.shutdown, req)
	return &pb.ShutdownResponse{}, nil
}
