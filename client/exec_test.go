package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mothreads/mothreads/client"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
)

// chunks records writes to two streams in order.
type chunks struct{ got []string }

type tagged struct {
	c   *chunks
	tag string
}

func (w tagged) Write(p []byte) (int, error) {
	w.c.got = append(w.c.got, w.tag+":"+string(p))
	return len(p), nil
}

func TestExecStreamsOutputInOrder(t *testing.T) {
	d := startFake(t)
	var c chunks
	res, err := d.client.Exec(context.Background(), &client.Request{Argv: []string{"interleave"}}, tagged{&c, "out"}, tagged{&c, "err"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Success() {
		t.Errorf("Success() = false for %v", res)
	}
	want := []string{"out:o1", "err:e1", "out:o2", "err:e2"}
	if diff := cmp.Diff(want, c.got); diff != "" {
		t.Errorf("chunks (-want +have):\n%s", diff)
	}
}

func TestExecSendsTheRequest(t *testing.T) {
	d := startFake(t)
	req := &client.Request{
		Argv: []string{"echo", "a b", "*"}, Dir: "/work", Env: []string{"A=1"}, BaseEnv: []string{},
		Timeout: 2 * time.Second, KillGrace: time.Second, Session: "dev",
	}
	if _, err := d.client.Exec(context.Background(), req, nil, nil); err != nil {
		t.Fatal(err)
	}
	have := d.lastCall(t)
	want := &pb.Command{
		Argv: bs("echo", "a b", "*"), Cwd: []byte("/work"), Env: bs("A=1"), BaseEnv: &pb.BaseEnv{},
		Timeout: durationpb.New(2 * time.Second), KillGrace: durationpb.New(time.Second), Session: "dev",
	}
	if have.method != "Exec" {
		t.Errorf("method = %s, want Exec", have.method)
	}
	if diff := cmp.Diff(want, have.cmd, protocmp.Transform()); diff != "" {
		t.Errorf("command (-want +have):\n%s", diff)
	}
}

func TestExecResults(t *testing.T) {
	d := startFake(t)
	for _, tc := range []struct {
		argv       []string
		want       client.Result
		str        string
		stdout     string
		successful bool
	}{
		{argv: []string{"echo", "hi"}, want: client.Result{}, str: "exit status 0", stdout: "hi\n", successful: true},
		{argv: []string{"fail", "3"}, want: client.Result{ExitCode: 3}, str: "exit status 3"},
		{argv: []string{"kill", "9"}, want: client.Result{ExitCode: -1, Signal: syscall.Signal(9)}, str: "signal: " + syscall.Signal(9).String(), stdout: "partial"},
		{argv: []string{"kill", "11"}, want: client.Result{ExitCode: -1, Signal: syscall.Signal(11), CoreDumped: true}, str: "signal: " + syscall.Signal(11).String() + " (core dumped)", stdout: "partial"},
		{argv: []string{"timeout"}, want: client.Result{ExitCode: -1, Signal: syscall.Signal(15), TimedOut: true, Message: "timed out after 1s"}, str: "signal: " + syscall.Signal(15).String() + " (timed out)"},
		{argv: []string{"lost"}, want: client.Result{ExitCode: -1, SessionLost: true, Message: "the shell died"}, str: "session lost: the shell died"},
	} {
		t.Run(tc.argv[0], func(t *testing.T) {
			var out bytes.Buffer
			res, err := d.client.Exec(context.Background(), &client.Request{Argv: tc.argv}, &out, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.Session, want.PID = "session-1", 4242
			want.QueuedAt, want.StartedAt, want.FinishedAt = t0, t0.Add(time.Millisecond), t0.Add(time.Second)
			if diff := cmp.Diff(&want, res); diff != "" {
				t.Errorf("result (-want +have):\n%s", diff)
			}
			if have := res.String(); have != tc.str {
				t.Errorf("String() = %q, want %q", have, tc.str)
			}
			if have := res.Success(); have != tc.successful {
				t.Errorf("Success() = %v, want %v", have, tc.successful)
			}
			if out.String() != tc.stdout {
				t.Errorf("stdout = %q, want %q", out.String(), tc.stdout)
			}
		})
	}
}

func TestExecSmallStdinGoesInline(t *testing.T) {
	d := startFake(t)
	var out bytes.Buffer
	if _, err := d.client.Exec(context.Background(), &client.Request{Argv: []string{"cat"}, Stdin: strings.NewReader("inline")}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if have := d.lastCall(t); have.method != "Exec" || string(have.cmd.GetStdinData()) != "inline" {
		t.Errorf("call = %s with stdin_data %q, want Exec with %q", have.method, have.cmd.GetStdinData(), "inline")
	}
	if out.String() != "inline" {
		t.Errorf("stdout = %q, want %q", out.String(), "inline")
	}
}

func TestExecStreamsStdinThroughAttach(t *testing.T) {
	d := startFake(t)
	data := make([]byte, 3<<20) // more than any flow-control window
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	var out bytes.Buffer
	// A MultiReader is not an in-memory type the client inlines.
	res, err := d.client.Exec(context.Background(), &client.Request{Argv: []string{"cat"}, Stdin: io.MultiReader(bytes.NewReader(data))}, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Success() {
		t.Errorf("result %v", res)
	}
	if have := d.lastCall(t); have.method != "Attach" || len(have.cmd.GetStdinData()) != 0 {
		t.Errorf("call = %s with %d bytes of stdin_data, want Attach with none", have.method, len(have.cmd.GetStdinData()))
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Errorf("stdout: %d bytes differ from the %d bytes of stdin", out.Len(), len(data))
	}
}

// errReader fails after its data.
type errReader struct{ data []byte }

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestExecStdinReadErrorClosesStdinAndIsReported(t *testing.T) {
	d := startFake(t)
	var out bytes.Buffer
	res, err := d.client.Exec(context.Background(), &client.Request{Argv: []string{"cat"}, Stdin: &errReader{[]byte("abc")}}, &out, nil)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("err = %v, want the read error", err)
	}
	if res == nil || !res.Success() || out.String() != "abc" {
		t.Errorf("result %v, stdout %q; want success and %q", res, out.String(), "abc")
	}
}

func TestStartSignalAndResize(t *testing.T) {
	d := startFake(t)
	stdinR, stdinW := io.Pipe()
	var out bytes.Buffer
	p, err := d.client.Start(context.Background(), &client.Request{Argv: []string{"controls"}, Stdin: stdinR, TTY: &client.WindowSize{Rows: 24, Cols: 80}}, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.PID != 4242 || p.Session != "session-1" || !p.StartedAt.Equal(t0.Add(time.Millisecond)) {
		t.Errorf("process = pid %d, session %q, started %v", p.PID, p.Session, p.StartedAt)
	}
	if err := p.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := p.Resize(client.WindowSize{Rows: 50, Cols: 132}); err != nil {
		t.Fatal(err)
	}
	stdinW.Close()
	res, err := p.Wait()
	if err != nil || !res.Success() {
		t.Fatalf("Wait = %v, %v", res, err)
	}
	if want := "signal 2\nresize 50x132\n"; out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
	if have := d.lastCall(t).cmd.GetTty(); have.GetRows() != 24 || have.GetCols() != 80 {
		t.Errorf("tty = %v, want 24x80", have)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal after the end = %v, want os.ErrProcessDone", err)
	}
}

func TestCancelCancelsTheCall(t *testing.T) {
	d := startFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := d.client.Start(ctx, &client.Request{Argv: []string{"block"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-d.running
	cancel()
	select {
	case <-d.blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon never saw the call's context end")
	}
	res, err := p.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if res == nil || !res.Cancelled || res.ExitCode != -1 || res.PID != 4242 {
		t.Errorf("result = %+v, want cancelled with exit code -1 and the pid", res)
	}
}

func TestCancelWhileWaitingToStart(t *testing.T) {
	d := startFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// "block" may be cancelled before or after the client sees Started.
	res, err := d.client.Exec(ctx, &client.Request{Argv: []string{"block"}}, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if res != nil && !res.Cancelled {
		t.Errorf("result = %+v, want nil or cancelled", res)
	}
	<-d.blocked
}

func TestRunBuffersAndTruncates(t *testing.T) {
	d := startFake(t)
	res, err := d.client.Run(context.Background(), &client.Request{Argv: []string{"cat"}, Stdin: io.MultiReader(strings.NewReader("abcdef"))}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "abcd" || !res.StdoutTruncated || res.StderrTruncated || !res.Success() {
		t.Errorf("Run = stdout %q truncated %v/%v, %v", res.Stdout, res.StdoutTruncated, res.StderrTruncated, &res.Result)
	}
	if have := d.lastCall(t); have.method != "Run" || string(have.cmd.GetStdinData()) != "abcdef" {
		t.Errorf("call = %s with stdin_data %q", have.method, have.cmd.GetStdinData())
	}
	if _, err := d.client.Run(context.Background(), &client.Request{Argv: []string{"cat"}, TTY: &client.WindowSize{}}, 0); err == nil {
		t.Error("Run with a TTY: no error")
	}
}

func TestStatusAndShutdown(t *testing.T) {
	d := startFake(t)
	st, err := d.client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := &client.Status{
		Version: "v0.0.0-fake", PID: 99, StartedAt: t0, Serving: true,
		Pool:  client.PoolStatus{SessionsIdle: 2, SessionsBusy: 1, SessionsSpawned: 7, MaxSessions: 8},
		Calls: client.CallStatus{Started: 10, OK: 9, Failed: 1},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("status (-want +have):\n%s", diff)
	}
	if err := d.client.Shutdown(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.shutdown) != 1 || !d.shutdown[0].GetSkipDrain() {
		t.Errorf("shutdown requests = %v, want one with skip_drain", d.shutdown)
	}
}
