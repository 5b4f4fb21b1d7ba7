package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// Process is a call in flight, as Client.Start returns it. Its methods are
// safe for concurrent use.
type Process struct {
	// PID is the command's main process (its process group leader) on the
	// daemon's host; Session names the session that runs it. Both are set
	// when Start returns, as are QueuedAt and StartedAt (daemon clock).
	PID                 int
	Session             string
	QueuedAt, StartedAt time.Time

	c       *Client
	op      string
	ctx     context.Context // the caller's, for error conversion
	cancel  context.CancelFunc
	stream  interface{ Recv() (*pb.ExecEvent, error) }
	attach  pb.Mothreads_AttachClient // nil when started with Exec
	sendMu  sync.Mutex                // grpc allows one sender at a time
	ended   atomic.Bool               // the call ended: send nothing more
	started *pb.Started
	header  func() (metadata.MD, error) // the stream's response header

	stdout, stderr io.Writer
	ioErr          error   // first error writing output; receiver only
	outClosed      [2]bool // writing stdout, stderr failed: discard the rest; receiver only

	done chan struct{} // closed when res and err are set
	res  *Result
	err  error

	stdinDone chan struct{} // closed when the stdin pump returns; nil: none
	waitStdin bool          // Wait waits for the pump (Stdin is not an *os.File)
	stdinErr  error         // pump only, then read after stdinDone
}

// maxInlineStdin is the largest in-memory Stdin that Exec sends in its
// request instead of streaming it over Attach.
const maxInlineStdin = 256 << 10

// Start starts the command and returns once it runs (after any wait in the
// daemon's queue), or with a *RequestError when the daemon refuses it. The
// call always has an input side, so Process.Signal and Process.Resize work.
// Output is written to stdout and stderr (nil discards) from a goroutine of
// the Process while the command runs; they need not be safe for concurrent
// use, as only that goroutine writes. Cancelling ctx cancels the call,
// which kills the command's process tree. Call Wait.
func (c *Client) Start(ctx context.Context, req *Request, stdout, stderr io.Writer) (*Process, error) {
	p, err := c.start(ctx, req, stdout, stderr, true)
	if err == nil && !p.ended.Load() {
		go p.receive()
	}
	return p, err
}

// Exec runs the command and waits for it, writing its output to stdout and
// stderr (nil discards) as it arrives, in the order the daemon sends it. The
// error is nil whenever the call completed, whatever the command's status:
// look at the Result. It is a *RequestError when the daemon refused the
// call, a *DaemonError when the daemon failed or could not be reached
// (errors.Is(err, ErrUnavailable)), or wraps ctx.Err() when ctx ended the
// call. Whenever the command had started, the Result is non-nil too.
//
// A Request with Stdin or TTY runs over the Attach stream; one without, or
// whose Stdin is a small *bytes.Reader, *bytes.Buffer or *strings.Reader,
// runs over the lighter Exec stream.
//
// When a write to stdout or stderr fails, the rest of that stream is
// discarded and the other goes on; the error is returned if the command
// otherwise succeeded, as os/exec does. On the Attach stream (and with
// Start) the daemon is also told to stop reading that stream, so that the
// command's next write to it fails, as a write to a closed pipe would; on
// the Exec stream the command is not told and runs on.
func (c *Client) Exec(ctx context.Context, req *Request, stdout, stderr io.Writer) (*Result, error) {
	p, err := c.start(ctx, req, stdout, stderr, false)
	if err != nil {
		return nil, err
	}
	if !p.ended.Load() {
		p.receive() // here: no goroutine to hand the events to
	}
	return p.Wait()
}

// Run runs the command to completion and returns its output buffered, up to
// limit bytes per stream (0: the daemon's default; the daemon caps it). It
// reads Request.Stdin whole before sending the call. Errors are as for Exec;
// a TTY is not allowed.
func (c *Client) Run(ctx context.Context, req *Request, limit int64) (*RunResult, error) {
	if req.TTY != nil {
		return nil, errors.New("mothreads: run: a TTY needs Exec or Start")
	}
	cmd := req.toProto()
	if req.Stdin != nil {
		data, err := io.ReadAll(req.Stdin)
		if err != nil {
			return nil, fmt.Errorf("mothreads: run: reading stdin: %w", err)
		}
		cmd.StdinData = data
	}
	rctx, rpc := c.route(ctx, req.Session)
	var header metadata.MD
	resp, err := rpc.Run(rctx, &pb.RunRequest{Command: cmd, OutputLimit: limit}, grpc.Header(&header))
	if err != nil {
		return nil, c.convertErr(ctx, "run", err)
	}
	c.noteSession(req.Session, header)
	return &RunResult{
		Result:          *resultFromProto(resp.GetExited(), nil),
		Stdout:          resp.GetStdout(),
		Stderr:          resp.GetStderr(),
		StdoutTruncated: resp.GetStdoutTruncated(),
		StderrTruncated: resp.GetStderrTruncated(),
	}, nil
}

// start starts the call and returns once the command runs (or has already
// ended: then p.ended is set). Unless it has ended, the caller must run
// p.receive, which reads the rest of the events; Cmd.Start and Client.Start
// run it in a goroutine, Client.Exec in place.
func (c *Client) start(ctx context.Context, req *Request, stdout, stderr io.Writer, attach bool) (*Process, error) {
	cmd := req.toProto()
	attach = attach || req.TTY != nil
	if req.Stdin != nil && !attach {
		if data, ok := inlineStdin(req.Stdin); ok {
			cmd.StdinData = data
		} else {
			attach = true
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	p := &Process{c: c, ctx: ctx, cancel: cancel, stdout: orDiscard(stdout), stderr: orDiscard(stderr), done: make(chan struct{})}
	sctx, rpc := c.route(sctx, req.Session)
	if err := p.open(sctx, rpc, cmd, attach, req.Stdin == nil); err != nil {
		cancel()
		return nil, c.convertErr(ctx, p.op, err)
	}
	for p.started == nil { // until Started, or Exited when it never started
		ev, err := p.stream.Recv()
		if err != nil {
			cancel()
			return nil, c.convertErr(ctx, p.op, err)
		}
		if p.handle(ev) {
			return p, nil
		}
	}
	if md, err := p.header(); err == nil {
		c.noteSession(req.Session, md)
	}
	p.PID, p.Session = int(p.started.GetPid()), p.started.GetSession()
	p.QueuedAt, p.StartedAt = asTime(p.started.GetQueuedAt()), asTime(p.started.GetStartedAt())
	if attach && req.Stdin != nil {
		p.stdinDone = make(chan struct{})
		_, isFile := req.Stdin.(*os.File)
		p.waitStdin = !isFile
		go p.pumpStdin(req.Stdin)
	}
	return p, nil
}

// open starts the RPC and sends the command.
func (p *Process) open(ctx context.Context, rpc pb.MothreadsClient, cmd *pb.Command, attach, noStdin bool) error {
	if !attach {
		p.op = "exec"
		st, err := rpc.Exec(ctx, &pb.ExecRequest{Command: cmd})
		p.stream = st
		if err == nil {
			p.header = st.Header
		}
		return err
	}
	p.op = "attach"
	st, err := rpc.Attach(ctx)
	if err != nil {
		return err
	}
	p.stream, p.attach, p.header = st, st, st.Header
	// On a failed send the stream is broken and Recv reports why.
	_ = p.send(&pb.AttachRequest{Msg: &pb.AttachRequest_Start{Start: cmd}, NoStdin: noStdin})
	return nil
}

// handle processes one event and reports whether the call has ended.
func (p *Process) handle(ev *pb.ExecEvent) bool {
	switch e := ev.GetEvent().(type) {
	case *pb.ExecEvent_Started:
		if p.started == nil {
			p.started = e.Started
		}
	case *pb.ExecEvent_Stdout:
		p.write(p.stdout, pb.OutputStream_OUTPUT_STREAM_STDOUT, e.Stdout)
	case *pb.ExecEvent_Stderr:
		p.write(p.stderr, pb.OutputStream_OUTPUT_STREAM_STDERR, e.Stderr)
	case *pb.ExecEvent_Exited:
		// Exited is the last event: read on to the end of the stream, which
		// releases it, before finishing.
		for {
			if _, err := p.stream.Recv(); err != nil {
				break
			}
		}
		p.finish(resultFromProto(e.Exited, p.started), nil)
		return true
	}
	return false
}

// receive reads the events after Started until the call ends.
func (p *Process) receive() {
	for {
		ev, err := p.stream.Recv()
		if err != nil {
			if err == io.EOF {
				err = &DaemonError{Op: p.op, Target: p.c.target, Code: codes.Internal,
					Err: errors.New("the call ended without an Exited event")}
			} else {
				err = p.c.convertErr(p.ctx, p.op, err)
			}
			cancelled := errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
			res := &Result{ExitCode: -1, Cancelled: cancelled}
			res.fillFromStarted(p.started)
			p.finish(res, err)
			return
		}
		if p.handle(ev) {
			return
		}
	}
}

func (p *Process) finish(res *Result, err error) {
	p.res, p.err = res, err
	p.ended.Store(true)
	p.cancel()
	close(p.done)
}

// write writes b, a chunk of one output stream, to w. When writing a
// stream fails, the rest of that stream is discarded, the other stream goes
// on, and a call started with Start (which has an input side) tells the
// daemon to stop reading the stream (close_output), so that the command's
// next write to it fails as a write to a closed pipe would: what os/exec
// does when a Stdout writer fails. The first error is kept for Wait.
func (p *Process) write(w io.Writer, stream pb.OutputStream, b []byte) {
	i := 0
	if stream == pb.OutputStream_OUTPUT_STREAM_STDERR {
		i = 1
	}
	if p.outClosed[i] {
		return
	}
	if _, err := w.Write(b); err != nil {
		p.outClosed[i] = true
		if p.ioErr == nil {
			p.ioErr = fmt.Errorf("mothreads: writing output: %w", err)
		}
		if p.attach != nil {
			// Not here: a send can wait behind stdin held up by flow
			// control, and the events must go on being read meanwhile.
			go p.send(&pb.AttachRequest{Msg: &pb.AttachRequest_CloseOutput{CloseOutput: stream}})
		}
	}
}

// send sends m on the Attach stream, one sender at a time.
func (p *Process) send(m *pb.AttachRequest) error {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if p.ended.Load() {
		return os.ErrProcessDone
	}
	return p.attach.Send(m)
}

// pumpStdin copies r to the command until EOF, a read error or the call's
// end.
func (p *Process) pumpStdin(r io.Reader) {
	defer close(p.stdinDone)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			// Send marshals before it returns, so buf can be reused.
			if p.send(&pb.AttachRequest{Msg: &pb.AttachRequest_Stdin{Stdin: buf[:n]}}) != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				p.stdinErr = fmt.Errorf("mothreads: reading stdin: %w", err)
			}
			_ = p.send(&pb.AttachRequest{Msg: &pb.AttachRequest_CloseStdin{CloseStdin: &pb.CloseStdin{}}})
			return
		}
	}
}

// Wait waits for the call to end and returns its result; it may be called
// more than once and from several goroutines. Errors are as for Exec. An
// error copying output or stdin is returned only when the command
// otherwise succeeded, as os/exec does. Unless Stdin is an *os.File, Wait
// also waits for the read of Stdin in progress to return; an *os.File (a
// terminal, say) may be left in a Read that ends when input arrives, its
// data then discarded.
func (p *Process) Wait() (*Result, error) {
	<-p.done
	err := p.err
	if err == nil && p.res.Success() {
		err = p.ioErr
	}
	if p.stdinDone != nil && p.waitStdin {
		<-p.stdinDone
		if err == nil && p.res.Success() {
			err = p.stdinErr
		}
	}
	return p.res, err
}

// Signal delivers sig (a syscall.Signal, such as syscall.SIGINT or
// os.Interrupt) to the command's process group. It returns
// os.ErrProcessDone when the call has ended. A send can wait while stdin
// data ahead of it is held up by flow control.
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("mothreads: signal %v: not a syscall.Signal", sig)
	}
	return p.control("signal", &pb.AttachRequest{Msg: &pb.AttachRequest_Signal{Signal: int32(s)}})
}

// Resize sets the size of the command's terminal (calls with a TTY only).
// It returns os.ErrProcessDone when the call has ended.
func (p *Process) Resize(size WindowSize) error {
	return p.control("resize", &pb.AttachRequest{Msg: &pb.AttachRequest_Resize{Resize: size.toProto()}})
}

func (p *Process) control(what string, m *pb.AttachRequest) error {
	if p.attach == nil {
		return errNotAttached
	}
	if err := p.send(m); err != nil {
		if errors.Is(err, os.ErrProcessDone) || err == io.EOF {
			return os.ErrProcessDone
		}
		return fmt.Errorf("mothreads: %s: %w", what, err)
	}
	return nil
}

// inlineStdin returns the contents of r when r is a small in-memory reader.
func inlineStdin(r io.Reader) ([]byte, bool) {
	var n int
	switch v := r.(type) {
	case *bytes.Reader:
		n = v.Len()
	case *bytes.Buffer:
		n = v.Len()
	case *strings.Reader:
		n = v.Len()
	default:
		return nil, false
	}
	if n > maxInlineStdin {
		return nil, false
	}
	data, err := io.ReadAll(r)
	return data, err == nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
