//go:build unix

package portable

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// fifoReader reads the pool's end of an output FIFO with poll(2) rather
// than the runtime's poller: on macOS kqueue does not report a FIFO's last
// writer closing (Go issue 24164), and a blocking read could not be
// stopped. It is opened before the shell opens the other end (so that the
// shell's open does not block) and must not be read before that: until a
// writer came, a FIFO reads as at its end.
//
// Close stops it, from any goroutine (proc.Outputs.Abandon): what the FIFO
// holds at that moment is still delivered to a Read in progress or the
// next ones (up to drainLimit bytes), then Read reports EOF. The descriptor
// closes when Read has reported the end, or on shut (the consumer is gone),
// or release: then a command's next write fails (EPIPE, SIGPIPE) as it
// would into any pipe whose reader went away.
type fifoReader struct {
	fd   int
	wake [2]int // a pipe: a byte on wake[1] wakes a poll

	mu      sync.Mutex
	reading bool
	closed  bool // Close was called
	gone    bool // the descriptors are closed
	drained int  // bytes read after Close
}

// drainLimit bounds what a stopped reader still delivers: what a pipe can
// hold, not what a process that escaped the call keeps writing.
const drainLimit = 1 << 20

// openFIFOReader opens path for reading without waiting for a writer.
func openFIFOReader(path string) (*fifoReader, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r := &fifoReader{fd: fd}
	if err := unix.Pipe(r.wake[:]); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("wake pipe: %w", err)
	}
	for _, w := range r.wake {
		unix.CloseOnExec(w)
		unix.SetNonblock(w, true)
	}
	return r, nil
}

// Read reads what the FIFO has, waiting in poll(2) for more, until every
// writer has closed it (EOF) or Close.
func (r *fifoReader) Read(b []byte) (n int, err error) {
	r.mu.Lock()
	if r.gone {
		r.mu.Unlock()
		return 0, io.EOF
	}
	r.reading = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.reading = false
		if r.closed {
			r.drained += n
		}
		if err != nil {
			r.closeLocked()
		}
		r.mu.Unlock()
	}()
	if len(b) == 0 {
		return 0, nil
	}
	for {
		r.mu.Lock()
		closed, drained := r.closed, r.drained
		r.mu.Unlock()
		if closed && drained >= drainLimit {
			return 0, io.EOF
		}
		n, err := unix.Read(r.fd, b)
		switch {
		case n > 0:
			return n, nil
		case err == nil:
			return 0, io.EOF
		case errors.Is(err, unix.EINTR):
			continue
		case !errors.Is(err, unix.EAGAIN):
			return 0, err
		case closed:
			return 0, io.EOF // nothing more in the FIFO now
		}
		fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}, {Fd: int32(r.wake[0]), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil && !errors.Is(err, unix.EINTR) {
			return 0, fmt.Errorf("poll: %w", err)
		}
	}
}

// Close stops the reader (see fifoReader); it may be called more than once.
func (r *fifoReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
	return nil
}

func (r *fifoReader) stopLocked() {
	if !r.closed && !r.gone {
		r.closed = true
		unix.Write(r.wake[1], []byte{0})
	}
}

// shut stops the reader and closes the FIFO now: its consumer is gone.
// Call it from the goroutine that reads (between reads).
func (r *fifoReader) shut() { r.release() }

// release closes the descriptor unless a Read is in progress (which closes
// it when it returns); call it once nothing will read any more.
func (r *fifoReader) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
	if !r.reading {
		r.closeLocked()
	}
}

// shutOnClosedPipe passes writes on to w; when w says its consumer closed
// the stream (io.ErrClosedPipe), it shuts r, so that the command's next
// write fails at once, as it would with a pipe of its own.
type shutOnClosedPipe struct {
	w io.Writer
	r *fifoReader
}

func (x shutOnClosedPipe) Write(p []byte) (int, error) {
	n, err := x.w.Write(p)
	if errors.Is(err, io.ErrClosedPipe) {
		x.r.shut()
	}
	return n, err
}

// consumer returns w wrapped with shutOnClosedPipe for r (nil stays nil:
// the output is discarded).
func consumer(w io.Writer, r *fifoReader) io.Writer {
	if w == nil {
		return nil
	}
	return shutOnClosedPipe{w: w, r: r}
}

func (r *fifoReader) closeLocked() {
	if !r.gone {
		r.gone = true
		unix.Close(r.fd)
		unix.Close(r.wake[0])
		unix.Close(r.wake[1])
	}
}

// stdinFIFO is the pool's end of a call's input FIFO. The writer is opened
// at once, which needs a reader: a placeholder reader of ours, held until
// the shell has opened its own (its report of the child's pid), so that
// neither open blocks and nothing written meanwhile is lost.
type stdinFIFO struct {
	w           *os.File
	placeholder int
}

func openStdinFIFO(path string) (*stdinFIFO, error) {
	rfd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	wfd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(rfd)
		return nil, fmt.Errorf("open %s for writing: %w", path, err)
	}
	// Blocking writes: the input pump may wait while the command does not
	// read, and fails (EPIPE) once no process of the call holds it.
	if err := unix.SetNonblock(wfd, false); err != nil {
		unix.Close(rfd)
		unix.Close(wfd)
		return nil, fmt.Errorf("stdin FIFO: %w", err)
	}
	return &stdinFIFO{w: os.NewFile(uintptr(wfd), path), placeholder: rfd}, nil
}

// dropPlaceholder closes the placeholder reader (once).
func (s *stdinFIFO) dropPlaceholder() {
	if s.placeholder >= 0 {
		unix.Close(s.placeholder)
		s.placeholder = -1
	}
}
