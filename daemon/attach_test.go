//go:build unix

package daemon_test

import (
	"context"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc/codes"
)

// TestAttachStdinStreams: stdin reaches the command while it runs (the
// second line is written only after the answer to the first arrived), and
// closing it gives the command EOF.
func TestAttachStdinStreams(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	in, inW := io.Pipe()
	out := newNotifyWriter()
	p, err := d.client.Start(context.Background(), &client.Request{
		Script: `while IFS= read -r line; do echo "got $line"; done; echo eof`,
		Stdin:  in,
	}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(inW, "one\n")
	out.waitFor(t, "got one\n")
	io.WriteString(inW, "two\n")
	out.waitFor(t, "got two\n")
	inW.Close() // close_stdin
	res, err := p.Wait()
	if err != nil || !res.Success() {
		t.Fatalf("Wait = %v, %v", res, err)
	}
	if have, want := out.String(), "got one\ngot two\neof\n"; have != want {
		t.Errorf("output %q, want %q", have, want)
	}
}

// TestAttachSignal: a signal reaches the command's process group while it
// runs, and while its stdin is open and unread.
func TestAttachSignal(t *testing.T) {
	if signal.Ignored(os.Interrupt) {
		// As when a shell starts the tests in the background: the sessions
		// inherit it, and bash cannot trap a signal ignored on entry.
		t.Skip("SIGINT is ignored in this process, so in the sessions it starts")
	}
	d := startDaemon(t, daemon.Config{})
	in, inW := io.Pipe()
	out := newNotifyWriter()
	p, err := d.client.Start(context.Background(), &client.Request{
		Script: `trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.05; done`,
		Stdin:  in,
	}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "ready\n")
	io.WriteString(inW, "unread input\n")
	if err := p.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	inW.Close() // the client's Wait waits for its stdin copy, as os/exec does
	res, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 7 || !strings.Contains(out.String(), "got INT") {
		t.Errorf("result %v, output %q; want exit 7 after the trap", res, out.String())
	}
}

// TestAttachResize: a terminal call sees its initial size, and a resize
// (SIGWINCH, then the new size).
func TestAttachResize(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	out := newNotifyWriter()
	p, err := d.client.Start(context.Background(), &client.Request{
		Script: `trap 'stty size; exit 0' WINCH; stty size; while :; do sleep 0.05; done`,
		TTY:    &client.WindowSize{Rows: 24, Cols: 80},
	}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "24 80")
	if err := p.Resize(client.WindowSize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	res, err := p.Wait()
	if err != nil || !res.Success() {
		t.Fatalf("Wait = %v, %v", res, err)
	}
	if !strings.Contains(out.String(), "30 100") {
		t.Errorf("output %q, want the new size 30 100", out.String())
	}
}

// TestAttachProtocol: the first message must be start, and a message that
// breaks the protocol later fails the call with the field named.
func TestAttachProtocol(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	ctx := context.Background()

	st, err := d.rpc.Attach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&pb.AttachRequest{Msg: &pb.AttachRequest_Stdin{Stdin: []byte("x")}})
	_, err = st.Recv()
	wantFieldError(t, err, codes.InvalidArgument, "start")

	st, err = d.rpc.Attach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&pb.AttachRequest{Msg: &pb.AttachRequest_Start{Start: &pb.Command{Script: []byte("sleep 300")}}})
	if ev, err := st.Recv(); err != nil || ev.GetStarted() == nil {
		t.Fatalf("first event %v, %v; want Started", ev, err)
	}
	st.Send(&pb.AttachRequest{Msg: &pb.AttachRequest_Signal{Signal: 99}})
	for {
		ev, err := st.Recv()
		if err != nil {
			wantFieldError(t, err, codes.InvalidArgument, "signal")
			break
		}
		if ev.GetExited() != nil {
			t.Fatalf("Exited %v, want the call to fail with InvalidArgument", ev)
		}
	}
}
