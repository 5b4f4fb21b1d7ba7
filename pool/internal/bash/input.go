//go:build linux

package bash

import (
	"io"
	"os"
	"sync"

	"github.com/mothreads/mothreads/pool/internal/proc"
)

// input feeds a child's input FIFO: the job, then the call's stdin, then
// the end of input. The pool's end of the FIFO is open for reading too (so
// that the child's open never blocks), so a write into a full FIFO whose
// child is gone would wait forever: close stops it.
type input struct {
	f    *os.File
	once sync.Once
	done chan struct{}
}

// newInput writes msg and then copies stdin (nil: none) into f, and closes
// f. A job without stdin that fits in the empty pipe is written at once;
// anything else by a goroutine that ends with the input or with close.
func newInput(f *os.File, msg []byte, stdin io.Reader) *input {
	in := &input{f: f, done: make(chan struct{})}
	if stdin == nil && len(msg) <= 4096 {
		// PIPE_BUF: one write, whole, into an empty pipe.
		f.Write(msg)
		in.close()
		close(in.done)
		return in
	}
	go func() {
		defer close(in.done)
		if _, err := f.Write(msg); err == nil && stdin != nil {
			proc.PumpIn(writeOnly{f}, stdin)
		}
		in.close()
	}()
	return in
}

// close ends the child's input; a write in progress fails at once.
func (in *input) close() {
	in.once.Do(func() { in.f.Close() })
}

// writeOnly hides f's Close from PumpIn, so that input.close stays the only
// one.
type writeOnly struct{ f *os.File }

func (w writeOnly) Write(b []byte) (int, error) { return w.f.Write(b) }
func (w writeOnly) Close() error                { return nil }
