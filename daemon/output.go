package daemon

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
)

// maxChunk bounds the output bytes of one ExecEvent: with its field tag and
// length it encodes to 32 KiB, a tier of gRPC's buffer pool. One byte more
// and both ends would take (and clear) a 1 MiB buffer for every message,
// which cut streaming throughput to a tenth (TestChunkFitsPoolTier).
const maxChunk = 32<<10 - 4

// maxStdinBuffer bounds the stdin bytes an Attach call holds that its
// command has not read yet (see inputBuffer).
const maxStdinBuffer = 256 << 10

// errStreamClosed is returned by writes after the call's last event.
var errStreamClosed = errors.New("the call's event stream is closed")

// errOutputClosed is returned by the writer of a stream the client closed
// (close_output). It wraps io.ErrClosedPipe, which tells the pool to stop
// reading the stream and close the command's pipe, so that the command's
// next write to it fails (EPIPE, SIGPIPE).
var errOutputClosed = fmt.Errorf("the client closed this output stream: %w", io.ErrClosedPipe)

// events serialises the events of one Exec or Attach stream: the pool's
// stdout and stderr pumps write concurrently, and gRPC allows one sender at
// a time.
//
// Flow control is gRPC's: Send blocks while the client does not read, which
// blocks the pump that called it, which stops reading the command's pipe,
// which blocks the command. Nothing is buffered here beyond the chunk being
// sent. A blocked Send returns when the client reads, goes away, or the
// server closes the connection at the end of its drain deadline.
type events struct {
	stream interface{ Send(*pb.ExecEvent) error }

	ready     chan struct{} // closed once Started is sent: output may follow
	readyOnce sync.Once

	mu     sync.Mutex
	done   bool           // the last event is sent (or the call failed): send nothing
	err    error          // the first send error; later sends fail at once
	closed [2]atomic.Bool // the client closed stdout, stderr (close_output)
}

func newEvents(stream interface{ Send(*pb.ExecEvent) error }) *events {
	return &events{stream: stream, ready: make(chan struct{})}
}

// sendLocked sends ev unless the stream has ended or failed.
func (e *events) sendLocked(ev *pb.ExecEvent) error {
	switch {
	case e.err != nil:
		return e.err
	case e.done:
		return errStreamClosed
	}
	if err := e.stream.Send(ev); err != nil {
		e.err = err
		return err
	}
	return nil
}

// send sends ev unless the stream has ended or failed.
func (e *events) send(ev *pb.ExecEvent) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sendLocked(ev)
}

// open lets output through; the pumps may have started writing before the
// Started event was sent, and wait for it here.
func (e *events) open() { e.readyOnce.Do(func() { close(e.ready) }) }

// started sends the Started event and lets output through.
func (e *events) started(ev *pb.ExecEvent) error {
	defer e.open()
	return e.send(ev)
}

// end sends the last event (ev may be nil) and closes the stream to writes.
func (e *events) end(ev *pb.ExecEvent) error {
	var err error
	e.mu.Lock()
	if ev != nil {
		err = e.sendLocked(ev)
	}
	e.done = true
	e.mu.Unlock()
	e.open()
	return err
}

// closeOutput stops delivering one output stream (close_output): its
// writer fails from now on, which makes the pool stop reading it. It does
// not wait for a send in progress.
func (e *events) closeOutput(stderr bool) { e.closed[index(stderr)].Store(true) }

func index(stderr bool) int {
	if stderr {
		return 1
	}
	return 0
}

// writer returns the io.Writer of one output stream.
func (e *events) writer(stderr bool) io.Writer { return outWriter{e, stderr} }

type outWriter struct {
	e      *events
	stderr bool
}

// Write sends p in chunks of at most maxChunk bytes. The chunk is marshalled
// before Send returns, so p is not retained. After close_output for this
// stream it fails with errOutputClosed and sends nothing.
func (w outWriter) Write(p []byte) (int, error) {
	<-w.e.ready
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	for off := 0; off < len(p); off += maxChunk {
		if w.e.closed[index(w.stderr)].Load() {
			return off, errOutputClosed
		}
		chunk := p[off:min(off+maxChunk, len(p))]
		ev := &pb.ExecEvent{Event: &pb.ExecEvent_Stdout{Stdout: chunk}}
		if w.stderr {
			ev = &pb.ExecEvent{Event: &pb.ExecEvent_Stderr{Stderr: chunk}}
		}
		if err := w.e.sendLocked(ev); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// inputBuffer is an Attach call's stdin: the stream's reader writes the
// stdin chunks it receives, the pool reads them into the command's pipe.
// It holds at most about maxStdinBuffer bytes: a Write beyond that waits for
// the command to read, and while it waits the stream's reader reads no
// further, so a signal sent after that much unread input waits too (gRPC's
// flow control then holds the client's sends). Below the bound, stdin never
// delays signals, resizes or close_stdin.
//
// Abort, called when the call ends, makes every Read return io.EOF and every
// Write return false at once, so neither the pool's stdin pump nor the
// stream's reader can be left waiting on the other.
type inputBuffer struct {
	mu      sync.Mutex
	cond    sync.Cond
	chunks  [][]byte
	n       int
	limit   int
	closed  bool // close_stdin: EOF once drained
	aborted bool // the call ended
}

func newInputBuffer(limit int) *inputBuffer {
	b := &inputBuffer{limit: limit}
	b.cond.L = &b.mu
	return b
}

// Write queues p, which must not be modified afterwards. It waits while the
// buffer is full, and reports false when the input is closed or aborted
// (p is then dropped).
func (b *inputBuffer) Write(p []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.n >= b.limit && !b.closed && !b.aborted {
		b.cond.Wait()
	}
	if b.closed || b.aborted {
		return false
	}
	if len(p) > 0 {
		b.chunks = append(b.chunks, p)
		b.n += len(p)
		b.cond.Broadcast()
	}
	return true
}

// CloseWrite ends the input: Read returns io.EOF once the queued bytes are
// read.
func (b *inputBuffer) CloseWrite() {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
}

// Abort drops the queued bytes and ends the input at once.
func (b *inputBuffer) Abort() {
	b.mu.Lock()
	b.aborted = true
	b.chunks, b.n = nil, 0
	b.cond.Broadcast()
	b.mu.Unlock()
}

// Read reads queued bytes, waiting for some.
func (b *inputBuffer) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.chunks) == 0 && !b.closed && !b.aborted {
		b.cond.Wait()
	}
	if len(b.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.chunks[0])
	if n == len(b.chunks[0]) {
		b.chunks[0] = nil
		b.chunks = b.chunks[1:]
	} else {
		b.chunks[0] = b.chunks[0][n:]
	}
	b.n -= n
	b.cond.Broadcast()
	return n, nil
}

// capBuffer keeps the first limit bytes written to it and notes whether
// more came; it never fails a write, so the command runs to its end. Its
// memory (the capacity of its buffer, which it grows itself) counts
// against the call's lease of the memory budget: once the budget is spent
// it keeps nothing more (overBudget) and reports the stream as truncated.
type capBuffer struct {
	mu         sync.Mutex
	buf        []byte
	limit      int
	lease      *lease // nil: not counted
	truncated  bool
	overBudget bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := p
	if room := c.limit - len(c.buf); len(keep) > room {
		keep = keep[:max(room, 0)]
		c.truncated = true
	}
	if len(keep) > 0 && !c.overBudget && len(c.buf)+len(keep) > cap(c.buf) {
		// Grow by doubling, as append would, but within the limit and paid
		// for first.
		newCap := min(max(2*cap(c.buf), len(c.buf)+len(keep), 4<<10), c.limit)
		if c.lease == nil || c.lease.grow(int64(newCap-cap(c.buf))) {
			grown := make([]byte, len(c.buf), newCap)
			copy(grown, c.buf)
			c.buf = grown
		} else {
			c.overBudget = true
		}
	}
	if c.overBudget && len(keep) > 0 {
		keep = nil
		c.truncated = true
	}
	c.buf = append(c.buf, keep...)
	return len(p), nil
}

// bytes returns what was kept, whether anything was dropped, and whether
// that was for the memory budget.
func (c *capBuffer) bytes() (kept []byte, truncated, overBudget bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf, c.truncated, c.overBudget
}
