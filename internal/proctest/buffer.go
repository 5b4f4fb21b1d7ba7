package proctest

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Buffer collects what concurrent writers write (a command's output, a
// daemon's log) and lets a test wait until a given string has arrived. The
// zero value is ready to use.
type Buffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed on the next write; nil while nobody waits
}

// Write appends p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return len(p), nil
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Changed returns a channel that the next Write closes. To wait for
// something in the buffer without missing a write, take Changed first,
// then look at String, then wait on the channel.
func (b *Buffer) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.changed
}

// WaitFor waits until the buffer contains s and reports whether it does.
// It gives up after bound, or when gone is closed (a nil gone never is),
// looking one last time then.
func (b *Buffer) WaitFor(s string, bound time.Duration, gone <-chan struct{}) bool {
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	for {
		changed := b.Changed()
		if strings.Contains(b.String(), s) {
			return true
		}
		select {
		case <-changed:
		case <-gone:
			return strings.Contains(b.String(), s)
		case <-deadline.C:
			return false
		}
	}
}
