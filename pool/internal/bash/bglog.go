//go:build linux

package bash

import (
	"sync"

	"github.com/mothreads/mothreads/signals"
)

// bgLog is a sticky session's log of what its background jobs wrote after
// the call that started them ended: a bounded ring of the most recent
// bytes, with absolute offsets so that a reader that follows it knows what
// it missed. Writes never block and never fail: a job writing faster than
// anyone reads only pushes old bytes out.
type bgLog struct {
	mu      sync.Mutex
	buf     []byte // ring of cap bytes
	size    int
	end     int64           // total bytes ever written
	changed *signals.Signal // fires (and is replaced) on every write
}

// bgLogSize bounds a session's background log.
const bgLogSize = 1 << 20

func newBgLog(size int) *bgLog {
	return &bgLog{buf: make([]byte, size), size: size, changed: signals.New()}
}

// Write appends p, dropping the oldest bytes beyond the bound.
func (l *bgLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	n := len(p)
	if len(p) > l.size {
		l.end += int64(len(p) - l.size)
		p = p[len(p)-l.size:]
	}
	for len(p) > 0 {
		at := int(l.end % int64(l.size))
		c := copy(l.buf[at:], p)
		p = p[c:]
		l.end += int64(c)
	}
	ch := l.changed
	l.changed = signals.New()
	l.mu.Unlock()
	ch.Go()
	return n, nil
}

// Read returns the bytes from offset from (clipped to what is kept) up to
// the end, the offset after them, and a Signal that fires at the next
// write. from < 0 means "the last -from bytes".
func (l *bgLog) Read(from int64) (data []byte, next int64, more *signals.Signal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.end - int64(min(int64(l.size), l.end))
	if from < 0 {
		from = max(l.end+from, start)
	}
	from = max(min(from, l.end), start)
	for off := from; off < l.end; {
		at := int(off % int64(l.size))
		chunk := l.buf[at:min(len(l.buf), at+int(l.end-off))]
		data = append(data, chunk...)
		off += int64(len(chunk))
	}
	return data, l.end, l.changed
}
