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
// never wedges the command; the first write error is returned.
//
// When stop (which may be nil) is set and r (an *os.File, or a reader with
// a File method) sees its read deadline pass (see Outputs.Abandon), PumpOut still copies what is in the
// pipe at that moment, reading without waiting, up to the pipe's capacity:
// everything written before the stop arrives even if w was slow, and a
// writer that escaped the call cannot keep the pump going.
func PumpOut(r io.ReadCloser, w io.Writer, stop *atomic.Bool) error {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	defer r.Close()
	buf := *bp
	var werr error
	write := func(p []byte) {
		if len(p) > 0 && w != nil && werr == nil {
			_, werr = w.Write(p)
		}
	}
	for {
		n, err := r.Read(buf)
		write(buf[:n])
		if err == nil {
			continue
		}
		var f *os.File
		switch r := r.(type) {
		case *os.File:
			f = r
		case interface{ File() *os.File }:
			f = r.File()
		}
		if f != nil && stop != nil && stop.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
			for left := pipeCapacity(f); left > 0; {
				n, err := readNow(f, buf[:min(len(buf), left)])
				write(buf[:n])
				left -= n
				if err != nil || n == 0 {
					break
				}
			}
		}
		return werr
	}
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

// Outputs tracks a call's output pumps: one per stream that has a writer.
type Outputs struct {
	done    signals.Signal
	left    atomic.Int32
	stop    atomic.Bool // set by Abandon
	files   []*os.File  // read ends
	dests   []io.Writer
	started bool
}

// Done fires when every pump has reached the end of its stream (or was
// abandoned).
func (o *Outputs) Done() *signals.Signal { return &o.done }

// StartPumps starts pumping o to stdout and e to stderr.
func StartPumps(o, e *os.File, stdout, stderr io.Writer) *Outputs {
	out := &Outputs{files: []*os.File{o, e}, dests: []io.Writer{stdout, stderr}}
	out.Start()
	return out
}

// Start starts the pumps; with none, Done fires at once.
func (o *Outputs) Start() {
	o.started = true
	o.left.Store(int32(len(o.files)))
	if len(o.files) == 0 {
		o.done.Go()
	}
	for i, f := range o.files {
		go func(f *os.File, w io.Writer) {
			PumpOut(f, w, &o.stop)
			if o.left.Add(-1) == 0 {
				o.done.Go()
			}
		}(f, o.dests[i])
	}
}

// Abandon stops reading: a process that escaped the call's process group
// still holds the pipes. What is in them already is still delivered (a slow
// consumer is not an escaped writer), then the escaped process gets EPIPE
// or SIGPIPE when it next writes. Abandon returns when the pumps are done.
func (o *Outputs) Abandon() {
	if !o.started {
		for _, f := range o.files {
			f.Close()
		}
		return
	}
	o.stop.Store(true)
	for _, f := range o.files {
		// Wakes a pump blocked in Read; one busy writing to a slow consumer
		// sees the deadline on its next Read.
		if err := f.SetReadDeadline(time.Now()); err != nil {
			f.Close() // no deadline on this file: stop at once
		}
	}
	o.done.Wait()
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
		out.files = append(out.files, r)
		out.dests = append(out.dests, w)
		return cw
	}
	childOut, childErr = pipe(stdout), pipe(stderr)
	if err != nil {
		CloseAll(childOut, childErr)
		for _, f := range out.files {
			f.Close()
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
