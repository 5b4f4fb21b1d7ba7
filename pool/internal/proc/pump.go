package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mothreads/mothreads/signals"
)

// ChunkSize is the size of the chunks output is read and delivered in.
const ChunkSize = 32 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, ChunkSize); return &b }}

// PumpOut copies the command's output from r to w in chunks of at most
// 32 KiB until r reports EOF or an error, then closes r. Memory is one chunk:
// while w blocks, nothing is read, the pipe fills and the command waits.
//
// If w fails, PumpOut keeps reading and discards, so that a dead consumer
// never wedges the command; the first write error is returned. If w fails
// with io.ErrClosedPipe, its consumer no longer wants the stream: PumpOut
// stops reading and closes r, so that the command's next write fails as a
// write into a pipe whose reader went away does (EPIPE, SIGPIPE).
//
// When stop (which may be nil) is set and r (an *os.File, or a reader with
// a File method) sees its read deadline pass (see Outputs.Abandon), PumpOut
// still copies what is in the pipe at that moment, reading without waiting,
// up to the pipe's capacity: everything written before the stop arrives
// even if w was slow, and a writer that escaped the call cannot keep the
// pump going.
func PumpOut(r io.ReadCloser, w io.Writer, stop *atomic.Bool) error {
	st := &stream{r: r, w: w, f: fileOf(r)}
	if stop != nil {
		st.abandonFlag = stop
	}
	return st.pump()
}

// PumpIn copies the caller's input from r to w until r is exhausted, then
// closes w so the command sees EOF. It stops early when w fails (the command
// has gone). It may outlive the call while r.Read blocks: like os/exec, the
// pool cannot interrupt an arbitrary Reader.
func PumpIn(w io.WriteCloser, r io.Reader) {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	_, _ = io.CopyBuffer(w, r, *bp)
	w.Close()
}

// Outputs copies a command's output streams to their writers, one pump
// (goroutine) per stream, until each stream ends. Build it with NewOutputs
// or OutputPipes, then Start it.
type Outputs struct {
	done    signals.Signal
	left    atomic.Int32
	streams []*stream
	started bool
}

// stream is one pump's state.
type stream struct {
	r io.ReadCloser
	f *os.File // r's file: deadlines and last reads; nil if r has none

	abandonFlag *atomic.Bool // set: deliver what the pipe holds, then stop
	mu          sync.Mutex
	w           io.Writer     // guarded by mu: Detach swaps it
	detachTo    io.Writer     // set with detaching: the writer after the switch
	detaching   atomic.Bool   // deliver what the pipe holds to w, then switch
	switched    chan struct{} // closed by the pump once it has switched
	ended       chan struct{} // closed when the pump returns
}

// NewOutputs returns the pumps of readers into writers (pairwise). A
// reader is an *os.File or has a File method returning one (for deadlines
// and last reads); a nil writer discards.
func NewOutputs(readers []io.ReadCloser, writers []io.Writer) *Outputs {
	o := &Outputs{}
	for i, r := range readers {
		o.streams = append(o.streams, &stream{r: r, w: writers[i], f: fileOf(r), ended: make(chan struct{})})
	}
	return o
}

func fileOf(r io.Reader) *os.File {
	switch r := r.(type) {
	case *os.File:
		return r
	case interface{ File() *os.File }:
		return r.File()
	}
	return nil
}

// Done fires when every pump has reached the end of its stream (or was
// abandoned).
func (o *Outputs) Done() *signals.Signal { return &o.done }

// StartPumps starts pumping o to stdout and e to stderr.
func StartPumps(o, e *os.File, stdout, stderr io.Writer) *Outputs {
	out := NewOutputs([]io.ReadCloser{o, e}, []io.Writer{stdout, stderr})
	out.Start()
	return out
}

// Start starts the pumps; with none, Done fires at once.
func (o *Outputs) Start() {
	o.started = true
	o.left.Store(int32(len(o.streams)))
	if len(o.streams) == 0 {
		o.done.Go()
	}
	var flag atomic.Bool
	for _, st := range o.streams {
		st.abandonFlag = &flag
		go func() {
			st.pump()
			close(st.ended)
			if o.left.Add(-1) == 0 {
				o.done.Go()
			}
		}()
	}
}

// Abandon stops reading: a process that escaped the call's process group
// still holds the pipes. What is in them already is still delivered (a slow
// consumer is not an escaped writer), then the escaped process gets EPIPE
// or SIGPIPE when it next writes. Abandon returns when the pumps are done.
func (o *Outputs) Abandon() {
	if !o.started {
		for _, st := range o.streams {
			st.r.Close()
		}
		return
	}
	if len(o.streams) > 0 {
		o.streams[0].abandonFlag.Store(true)
	}
	for _, st := range o.streams {
		// Wakes a pump blocked in Read; one busy writing to a slow consumer
		// sees the deadline on its next Read.
		if st.f == nil || st.f.SetReadDeadline(time.Now()) != nil {
			st.r.Close() // no deadline on this stream: stop at once
		}
	}
	o.done.Wait()
}

// Detach hands the streams on: what their pipes hold now is delivered to
// their writers, and from then on everything goes to w (a sticky session's
// log, whose background jobs keep writing after the call's script ended).
// It returns once every pump has switched; the pumps then run until their
// streams end or Abandon.
func (o *Outputs) Detach(w io.Writer) {
	for _, st := range o.streams {
		st.mu.Lock()
		st.detachTo = w
		st.switched = make(chan struct{})
		st.mu.Unlock()
		st.detaching.Store(true)
		if st.f == nil || st.f.SetReadDeadline(time.Now()) != nil {
			st.mu.Lock()
			st.w, st.detachTo = w, nil
			st.detaching.Store(false)
			close(st.switched)
			st.mu.Unlock()
		}
	}
	for _, st := range o.streams {
		st.mu.Lock()
		ch := st.switched
		st.mu.Unlock()
		select {
		case <-ch:
		case <-st.ended:
		}
	}
}

// pump copies the stream until it ends (see PumpOut).
func (st *stream) pump() error {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	defer st.r.Close()
	buf := *bp
	var werr error
	write := func(p []byte) bool {
		st.mu.Lock()
		w := st.w
		st.mu.Unlock()
		if len(p) == 0 || w == nil || werr != nil {
			return true
		}
		if _, werr = w.Write(p); errors.Is(werr, io.ErrClosedPipe) {
			return false // the consumer closed the stream
		}
		return true
	}
	drain := func() bool {
		for left := pipeCapacity(st.f); left > 0; {
			n, err := readNow(st.f, buf[:min(len(buf), left)])
			if !write(buf[:n]) {
				return false
			}
			left -= n
			if err != nil || n == 0 {
				break
			}
		}
		return true
	}
	for {
		n, err := st.r.Read(buf)
		if !write(buf[:n]) {
			return werr
		}
		if err == nil {
			continue
		}
		if st.f != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			switch {
			case st.detaching.Load():
				if !drain() {
					return werr
				}
				st.mu.Lock()
				st.w, st.detachTo, werr = st.detachTo, nil, nil
				st.detaching.Store(false)
				close(st.switched)
				st.mu.Unlock()
				st.f.SetReadDeadline(time.Time{})
				continue
			case st.abandonFlag != nil && st.abandonFlag.Load():
				drain()
			}
		}
		return werr
	}
}

// OutputPipes makes the pipes for a directly spawned command's output: for
// each stream with a writer, a pipe whose write end goes to the child; a
// stream without one goes to /dev/null (a nil *os.File for os/exec), and
// costs nothing. The caller closes the child ends after the start and calls
// out.Start() to begin pumping, or out.Abandon() if the start failed.
func OutputPipes(stdout, stderr io.Writer) (out *Outputs, childOut, childErr *os.File, err error) {
	out = &Outputs{}
	pipe := func(w io.Writer) *os.File {
		if w == nil || err != nil {
			return nil
		}
		r, cw, perr := os.Pipe()
		if perr != nil {
			err = fmt.Errorf("output pipe: %w", perr)
			return nil
		}
		out.streams = append(out.streams, &stream{r: r, w: w, f: r, ended: make(chan struct{})})
		return cw
	}
	childOut, childErr = pipe(stdout), pipe(stderr)
	if err != nil {
		CloseAll(childOut, childErr)
		for _, st := range out.streams {
			st.r.Close()
		}
		return nil, nil, nil, err
	}
	return out, childOut, childErr, nil
}

// CloseAll closes the files that are not nil.
func CloseAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
