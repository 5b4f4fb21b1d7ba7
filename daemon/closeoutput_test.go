//go:build unix

package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc/codes"
)

// attachEvents reads an Attach stream to its end and returns the stdout and
// stderr that came after the first stdout chunk, and the Exited event.
func attachEvents(t *testing.T, st pb.Mothreads_AttachClient, afterFirst func()) (stdout, stderr string, ex *pb.Exited) {
	t.Helper()
	var out, errb bytes.Buffer
	first := true
	for {
		ev, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return out.String(), errb.String(), ex
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		switch {
		case ev.GetStdout() != nil && first:
			first = false
			afterFirst()
		case ev.GetStdout() != nil:
			out.Write(ev.GetStdout())
		case ev.GetStderr() != nil:
			errb.Write(ev.GetStderr())
		case ev.GetExited() != nil:
			ex = ev.GetExited()
		}
	}
}

// TestCloseOutput: after close_output for stdout the daemon delivers no
// more stdout, while stderr and the exit status still come (issue 12: a
// CLI whose reader went away). The command waits for a line of stdin that
// the test sends after close_output, so nothing of its later output can be
// in flight before it.
func TestCloseOutput(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	st, err := d.rpc.Attach(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	send := func(m *pb.AttachRequest) {
		if err := st.Send(m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	send(&pb.AttachRequest{Msg: &pb.AttachRequest_Start{Start: &pb.Command{
		Script: []byte("echo first; read -r x; head -c 1000000 /dev/zero 2>/dev/null; echo still-here >&2; exit 5")}}})
	stdout, stderr, ex := attachEvents(t, st, func() {
		send(&pb.AttachRequest{Msg: &pb.AttachRequest_CloseOutput{CloseOutput: pb.OutputStream_OUTPUT_STREAM_STDOUT}})
		send(&pb.AttachRequest{Msg: &pb.AttachRequest_Stdin{Stdin: []byte("go\n")}})
		send(&pb.AttachRequest{Msg: &pb.AttachRequest_CloseStdin{CloseStdin: &pb.CloseStdin{}}})
	})
	if stdout != "" {
		t.Errorf("%d bytes of stdout delivered after close_output", len(stdout))
	}
	if stderr != "still-here\n" || ex.GetExitCode() != 5 {
		t.Errorf("stderr %q, exited %v; want still-here and exit 5", stderr, ex)
	}
}

// TestCloseOutputGivesTheCommandEPIPE: a command that writes to a stream
// its client closed gets what writing to a closed pipe gives: `yes` dies of
// SIGPIPE, as it does under `bash -c 'yes' | head -1`.
func TestCloseOutputGivesTheCommandEPIPE(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	st, err := d.rpc.Attach(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&pb.AttachRequest{Msg: &pb.AttachRequest_Start{Start: &pb.Command{Argv: bs("yes")}}, NoStdin: true}); err != nil {
		t.Fatal(err)
	}
	_, _, ex := attachEvents(t, st, func() {
		st.Send(&pb.AttachRequest{Msg: &pb.AttachRequest_CloseOutput{CloseOutput: pb.OutputStream_OUTPUT_STREAM_STDOUT}})
	})
	if ex.GetSignal() != int32(syscall.SIGPIPE) {
		t.Errorf("exited %v, want killed by SIGPIPE", ex)
	}
}

// TestClientWriterFails: when the caller's Stdout writer fails, the client
// tells the daemon, stderr and the status still arrive, and Wait reports
// the write error only if the command otherwise succeeded (as os/exec).
func TestClientWriterFails(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	in, inW := io.Pipe()
	var stderr bytes.Buffer
	out := &failingWriter{after: 1}
	p, err := d.client.Start(context.Background(), &client.Request{
		Script: "echo first; read -r x; head -c 1000000 /dev/zero 2>/dev/null; echo still-here >&2; exit 5",
		Stdin:  in,
	}, out, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	inW.Write([]byte("go\n"))
	inW.Close()
	res, err := p.Wait()
	if err != nil || res.ExitCode != 5 || stderr.String() != "still-here\n" {
		t.Errorf("Wait = %v, %v; stderr %q; want exit 5, no error, still-here", res, err, stderr.String())
	}
	if out.writes != 2 {
		t.Errorf("the failing writer got %d writes, want 2 (the first, and the one that failed)", out.writes)
	}

	// A command that succeeds despite the failed write: Wait returns the
	// write error.
	out = &failingWriter{after: 0}
	res, err = d.client.Exec(context.Background(), &client.Request{Script: "echo x; echo y >&2"}, out, io.Discard)
	if !errors.Is(err, errWriter) || !res.Success() {
		t.Errorf("Exec = %v, %v; want success and the write error", res, err)
	}
}

var errWriter = errors.New("the writer is closed")

// failingWriter accepts after writes, then fails every write. Only the
// Process's receiver writes to it.
type failingWriter struct{ after, writes int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes > w.after {
		return 0, errWriter
	}
	return len(p), nil
}

// TestAttachInputRefusals: close_output names a known stream; stdin after a
// start with no_stdin, and no_stdin after the start, are refused naming the
// field.
func TestAttachInputRefusals(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	for _, tc := range []struct {
		name  string
		first *pb.AttachRequest
		next  *pb.AttachRequest
		field string
	}{
		{"close-output-unknown", &pb.AttachRequest{Msg: &pb.AttachRequest_Start{Start: &pb.Command{Script: []byte("sleep 300")}}},
			&pb.AttachRequest{Msg: &pb.AttachRequest_CloseOutput{CloseOutput: 7}}, "close_output"},
		{"stdin-after-no-stdin", &pb.AttachRequest{Msg: &pb.AttachRequest_Start{Start: &pb.Command{Script: []byte("sleep 300")}}, NoStdin: true},
			&pb.AttachRequest{Msg: &pb.AttachRequest_Stdin{Stdin: []byte("x")}}, "stdin"},
		{"no-stdin-later", &pb.AttachRequest{Msg: &pb.AttachRequest_Start{Start: &pb.Command{Script: []byte("sleep 300")}}},
			&pb.AttachRequest{Msg: &pb.AttachRequest_Signal{Signal: 28}, NoStdin: true}, "no_stdin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := d.rpc.Attach(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			st.Send(tc.first)
			st.Send(tc.next)
			for {
				_, err := st.Recv()
				if err != nil {
					wantFieldError(t, err, codes.InvalidArgument, tc.field)
					return
				}
			}
		})
	}
}
