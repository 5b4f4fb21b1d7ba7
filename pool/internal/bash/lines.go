//go:build linux

package bash

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxLine is the longest line a lineFeed takes: every report is far shorter.
const maxLine = 4 << 10

// lineFeed reads the lines written to a non-blocking descriptor (the
// control socket, the signal pipe) as they come, and hands each to handle.
// Reading and handling happen under one lock, which sync takes too: once
// sync returns, every line written before it was called has been handled.
// That is how a call's end waits for its child's reports without a
// round trip.
type lineFeed struct {
	mu      sync.Mutex
	rc      syscall.RawConn
	partial []byte
	// handle is called with mu held, for each line without its newline.
	// An error ends the feed.
	handle func(line []byte) error
	err    error // why the feed ended (io.EOF at the end of the stream)
}

// newLineFeed returns a feed of f, which must be non-blocking (on the
// runtime poller); pending holds bytes already read from it.
func newLineFeed(f *os.File, pending []byte, handle func([]byte) error) (*lineFeed, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &lineFeed{rc: rc, partial: append([]byte(nil), pending...), handle: handle}, nil
}

// run feeds lines until the stream ends, a handler fails or the file is
// closed, and returns why (errEnded at the end of the stream).
func (lf *lineFeed) run() error {
	lf.mu.Lock()
	lf.split()
	lf.mu.Unlock()
	err := lf.rc.Read(func(fd uintptr) bool {
		lf.mu.Lock()
		defer lf.mu.Unlock()
		return lf.drain(int(fd))
	})
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.err == nil {
		lf.err = err
	}
	return lf.err
}

var errEnded = errors.New("end of stream")

// sync handles every line that the stream holds now.
func (lf *lineFeed) sync() {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.err == nil {
		lf.rc.Control(func(fd uintptr) { lf.drain(int(fd)) })
	}
}

// drain reads what the descriptor holds and handles the complete lines; it
// reports whether the feed is over. lf.mu is held.
func (lf *lineFeed) drain(fd int) (over bool) {
	var buf [512]byte
	for lf.err == nil {
		n, err := unix.Read(fd, buf[:])
		switch {
		case n > 0:
			lf.partial = append(lf.partial, buf[:n]...)
			lf.split()
		case err == nil:
			lf.err = errEnded
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			return false
		default:
			lf.err = err
		}
	}
	return true
}

// split hands on the complete lines held. lf.mu is held.
func (lf *lineFeed) split() {
	for lf.err == nil {
		line, rest, ok := bytes.Cut(lf.partial, []byte("\n"))
		if !ok {
			if len(lf.partial) > maxLine {
				lf.err = fmt.Errorf("%w: a line longer than %d bytes", errBadReport, maxLine)
			}
			break
		}
		lf.partial = rest
		if err := lf.handle(line); err != nil {
			lf.err = err
		}
	}
	if len(lf.partial) == 0 && cap(lf.partial) > maxLine {
		lf.partial = nil // let a large buffer go
	}
}
