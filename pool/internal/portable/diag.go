//go:build unix

package portable

import (
	"bufio"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// diagTail reads the shell's diagnostics pipe (its own stdout and stderr,
// never a call's output): it logs each line at debug level and keeps the
// last diagKeep bytes until the session has started, for a start error to
// quote (a failing init script says why there).
type diagTail struct {
	f    *os.File
	log  *slog.Logger
	done chan struct{}

	mu      sync.Mutex
	buf     []byte
	started bool
}

const diagKeep = 2048

func newDiagTail(f *os.File, log *slog.Logger) *diagTail {
	return &diagTail{f: f, log: log, done: make(chan struct{})}
}

func (d *diagTail) run() {
	defer close(d.done)
	defer d.f.Close()
	sc := bufio.NewScanner(d.f)
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

// markStarted says the init script is over: lines are only logged now.
func (d *diagTail) markStarted() {
	d.mu.Lock()
	d.started, d.buf = true, nil
	d.mu.Unlock()
}

// tail returns ": " and the last lines kept, or "". It first gives the
// reader up to a second to reach the end of the pipe, so that a shell that
// just died has its last words quoted.
func (d *diagTail) tail() string {
	t := time.NewTimer(time.Second)
	select {
	case <-d.done:
	case <-t.C:
	}
	t.Stop()
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

// stop ends the reader once the shell is gone: a process that inherited
// the pipe may still hold it.
func (d *diagTail) stop() {
	d.f.SetReadDeadline(time.Now())
	<-d.done
}
