//go:build unix

package driver

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

// DiagTail reads a session shell's diagnostics pipe (its own stdout and
// stderr: never a call's output): it logs each line at debug level and,
// until Started, keeps the last few KiB, which start errors quote (a failing
// init script says why there). Start Run on a goroutine of its own.
type DiagTail struct {
	f    *os.File
	log  *slog.Logger
	done chan struct{}

	mu      sync.Mutex
	buf     []byte
	started bool // the init script is over: lines are only logged
}

const diagKeep = 2048

// NewDiagTail returns the reader of f, which it closes when Run returns.
func NewDiagTail(f *os.File, log *slog.Logger) *DiagTail {
	return &DiagTail{f: f, log: log, done: make(chan struct{})}
}

// Run reads the pipe to its end (EIO counts as the end: a pseudo-terminal's
// master reads EIO once no process holds its terminal) or until Stop.
func (d *DiagTail) Run() {
	defer close(d.done)
	defer d.f.Close()
	sc := bufio.NewScanner(eioIsEOF{d.f})
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		d.log.Debug("shell diagnostics", "line", line)
		d.mu.Lock()
		if !d.started {
			d.buf = append(d.buf, line...)
			d.buf = append(d.buf, '\n')
			if len(d.buf) > 2*diagKeep {
				d.buf = append(d.buf[:0], d.buf[len(d.buf)-diagKeep:]...)
			}
		}
		d.mu.Unlock()
	}
}

// Started says the init script is over: lines are only logged from now on.
func (d *DiagTail) Started() {
	d.mu.Lock()
	d.started, d.buf = true, nil
	d.mu.Unlock()
}

// Tail returns ": " and the last lines kept, or "".
func (d *DiagTail) Tail() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.buf
	if len(b) > diagKeep {
		b = b[len(b)-diagKeep:]
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		return ": " + s
	}
	return ""
}

// Settle waits up to a second for the reader to reach the end of the pipe,
// so that Tail has the last words of a shell that just died.
func (d *DiagTail) Settle() {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-d.done:
	case <-t.C:
	}
}

// Stop ends the reader once the shell is gone: a process that inherited
// the pipe (something the init script left running) may hold it open, and
// what it writes after that is not the session's.
func (d *DiagTail) Stop() {
	d.f.SetReadDeadline(time.Now())
	<-d.done
}

// eioIsEOF reads f, taking EIO for the end.
type eioIsEOF struct{ f *os.File }

func (r eioIsEOF) Read(b []byte) (int, error) {
	n, err := r.f.Read(b)
	if err != nil && errors.Is(err, syscall.EIO) {
		err = io.EOF
	}
	return n, err
}
