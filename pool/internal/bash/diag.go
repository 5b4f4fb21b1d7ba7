//go:build linux

package bash

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// diagTail reads the shell's diagnostics pipe (its own stdout and stderr:
// never user output): it logs each line at debug level and keeps the last
// few KiB, which start errors quote (a failing init script says why there).
type diagTail struct {
	f    *os.File
	log  *slog.Logger
	done chan struct{}

	mu      sync.Mutex
	buf     []byte
	running bool // the init script is over: lines are only logged
}

const diagKeep = 2048

func newDiagTail(f *os.File, log *slog.Logger) *diagTail {
	return &diagTail{f: f, log: log, done: make(chan struct{})}
}

func (d *diagTail) run() {
	defer close(d.done)
	defer d.f.Close()
	sc := bufio.NewScanner(eioIsEOF{d.f})
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		d.log.Debug("shell diagnostics", "line", line)
		d.mu.Lock()
		if !d.running {
			d.buf = append(d.buf, line...)
			d.buf = append(d.buf, '\n')
			if len(d.buf) > 2*diagKeep {
				d.buf = append(d.buf[:0], d.buf[len(d.buf)-diagKeep:]...)
			}
		}
		d.mu.Unlock()
	}
}

// started says the init script is over.
func (d *diagTail) started() {
	d.mu.Lock()
	d.running = true
	d.buf = nil
	d.mu.Unlock()
}

// tail returns ": " and the last lines kept, or "".
func (d *diagTail) tail() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.buf
	if len(b) > diagKeep {
		b = b[len(b)-diagKeep:]
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	return ": " + s
}

// settle waits a little for the reader to reach the end of the pipe, so
// that tail has the last words of a shell that just died.
func (d *diagTail) settle() {
	select {
	case <-d.done:
	case <-time.After(time.Second):
	}
}

// stop ends the reader once the shell is gone: a process that inherited the
// pipe (something the init script left running) may hold it open, and what
// it writes after that is not the session's.
func (d *diagTail) stop() {
	d.f.SetReadDeadline(time.Now())
	<-d.done
}

// eioIsEOF reads f, taking EIO for the end: a pseudo-terminal's master
// reads EIO once no process holds its terminal.
type eioIsEOF struct{ f *os.File }

func (r eioIsEOF) Read(b []byte) (int, error) {
	n, err := r.f.Read(b)
	if err != nil && errors.Is(err, syscall.EIO) {
		err = io.EOF
	}
	return n, err
}
