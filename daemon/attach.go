package daemon

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/mothreads/mothreads/pool"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// maxSignal is the highest signal number Attach delivers (SIGRTMAX on
// Linux).
const maxSignal = 64

// protocolError is the cancel cause of an Attach call whose client broke
// the protocol; the call fails with its status.
type protocolError struct{ err error }

func (e protocolError) Error() string { return e.err.Error() }

// Attach runs a command with a live input side. The first message must be
// start; after it, one reader (the thread "call-N-input", a sibling of the
// call's thread) takes the stream's messages in order: stdin chunks go to an
// inputBuffer that the pool reads into the command's stdin, close_stdin
// ends it, resize and signal go to the call at once, close_output stops
// delivering one output stream. The reader never waits on the command
// except when the input buffer is full (see inputBuffer), and it stops
// feeding stdin once the command has ended. A start with no_stdin gives
// the command /dev/null, as Exec does, and no input buffer.
//
// A message that breaks the protocol (a second start, an empty message, a
// signal outside 1..64, a bad size) fails the call with InvalidArgument
// naming the field ("start", "msg", "signal", "resize") and cancels the
// command, as a client that goes away does.
//
// Trap: the reader outlives the handler. gRPC gives no way to interrupt a
// Recv other than ending the RPC, and a client that has read Exited reads on
// to the status without closing its side; the reader's Recv fails when the
// handler's return ends the RPC. The server thread joins it.
func (d *daemon) Attach(stream pb.Mothreads_AttachServer) error {
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return invalid("start", "the stream ended before its start message")
	}
	if err != nil {
		return err
	}
	if err := checkTop(first.ProtoReflect()); err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return invalid("start", "the first message must be start")
	}
	preq, err := toRequest(start, kindAttach)
	if err != nil {
		return err
	}
	var in *inputBuffer
	if !first.GetNoStdin() {
		in = newInputBuffer(maxStdinBuffer)
		defer in.Abort() // the pool's stdin pump may still be in Read
		preq.Stdin = in
	}
	ev := newEvents(stream)
	preq.Stdout, preq.Stderr = ev.writer(false), ev.writer(true)
	ctx, cancel := d.callContext(stream.Context())
	defer cancel(context.Canceled)
	call, err := d.pool.Start(ctx, preq)
	if err != nil {
		ev.end(nil)
		return startError("attach", preq, err)
	}

	ended := signals.New()
	defer ended.Go()
	name := "input"
	if t := callThread(ctx); t != nil {
		name = t.Name() + "-input"
	}
	threads.Go(d.server, name, func(*threads.Thread) error {
		readInput(stream, in, ev, call, ended, cancel)
		return nil
	})

	return d.stream(ctx, ev, call, "attach", func() {
		ended.Go()
		if in != nil {
			in.Abort()
		}
	})
}

// readInput reads the Attach stream until it ends; see Attach. in is nil
// for a call started with no_stdin.
func readInput(stream pb.Mothreads_AttachServer, in *inputBuffer, ev *events, call *pool.Call, ended *signals.Signal, fail context.CancelCauseFunc) {
	for {
		m, err := stream.Recv()
		if err != nil {
			// io.EOF: the client closed its side, which ends stdin too. Any
			// other error ends the RPC, whose context cancels the call.
			if in != nil {
				in.CloseWrite()
			}
			return
		}
		if ended.Fired() {
			continue // drain what the client still sends until the RPC ends
		}
		if m.GetNoStdin() {
			fail(protocolError{invalid("no_stdin", "may only be set on the start message")})
			return
		}
		switch msg := m.GetMsg().(type) {
		case *pb.AttachRequest_Stdin:
			if in == nil {
				fail(protocolError{invalid("stdin", "the call was started with no_stdin")})
				return
			}
			in.Write(msg.Stdin)
		case *pb.AttachRequest_CloseStdin:
			if in != nil {
				in.CloseWrite()
			}
		case *pb.AttachRequest_CloseOutput:
			switch msg.CloseOutput {
			case pb.OutputStream_OUTPUT_STREAM_STDOUT, pb.OutputStream_OUTPUT_STREAM_STDERR:
				ev.closeOutput(msg.CloseOutput == pb.OutputStream_OUTPUT_STREAM_STDERR)
			default:
				fail(protocolError{invalid("close_output", "unknown output stream %d", msg.CloseOutput)})
				return
			}
		case *pb.AttachRequest_Resize:
			size, err := windowSize("resize", msg.Resize)
			if err != nil {
				fail(protocolError{err})
				return
			}
			call.Resize(size)
		case *pb.AttachRequest_Signal:
			if msg.Signal < 1 || msg.Signal > maxSignal {
				fail(protocolError{invalid("signal", "signal %d is not within 1..%d", msg.Signal, maxSignal)})
				return
			}
			call.Signal(syscall.Signal(msg.Signal))
		case *pb.AttachRequest_Start:
			fail(protocolError{invalid("start", "start may only be the first message")})
			return
		default:
			fail(protocolError{invalid("msg", "empty or unknown message")})
			return
		}
	}
}
