package benchcmd

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// progress is the line bench keeps updated on stderr while it runs, when
// stderr is a terminal; otherwise it does nothing.
type progress struct {
	f       *os.File // nil: not a terminal
	done    atomic.Int64
	mu      sync.Mutex
	stopped chan struct{}
	exited  chan struct{}
}

func newProgress(f *os.File) *progress {
	p := &progress{}
	if f != nil && term.IsTerminal(int(f.Fd())) {
		p.f = f
	}
	return p
}

// phase starts showing "NAME done/total" (just NAME when total is 0) and
// returns the function to call after each call; the previous phase's line
// ends.
func (p *progress) phase(name string, total int) func() {
	p.close()
	if p.f == nil {
		return nil
	}
	p.done.Store(0)
	p.mu.Lock()
	p.stopped, p.exited = make(chan struct{}), make(chan struct{})
	stopped, exited := p.stopped, p.exited
	p.mu.Unlock()
	go func() {
		defer close(exited)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if total > 0 {
				fmt.Fprintf(p.f, "\r\033[K%s %d/%d", name, p.done.Load(), total)
			} else {
				fmt.Fprintf(p.f, "\r\033[K%s", name)
			}
			select {
			case <-t.C:
			case <-stopped:
				fmt.Fprint(p.f, "\r\033[K")
				return
			}
		}
	}()
	return func() { p.done.Add(1) }
}

// close clears the line; it may be called more than once.
func (p *progress) close() {
	p.mu.Lock()
	stopped, exited := p.stopped, p.exited
	p.stopped, p.exited = nil, nil
	p.mu.Unlock()
	if stopped != nil {
		close(stopped)
		<-exited
	}
}
