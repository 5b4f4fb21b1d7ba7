//go:build linux

package bash

import (
	"bytes"
	"runtime"
	"strconv"
	"time"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// endWatch follows a child's end FIFO during its call (see bootIsolated):
// ended fires when the child has reported that its script ran to its end
// with no EXIT trap, and the kernel confirms that the child is exiting with
// that status. A report the kernel does not confirm (written by the script
// itself, or by anything else that found the FIFO) is ignored.
type endWatch struct {
	ended  signals.Signal
	status int  // the confirmed status, once ended fired
	trap   bool // the current report is an EXIT trap's text
	pid    int
	feed   *lineFeed
	done   chan struct{}
}

// watchEnd starts following sl's end FIFO; it stops when the slot closes.
// A slot without one never ends early.
func watchEnd(sl *slot) *endWatch {
	w := &endWatch{pid: sl.pid, done: make(chan struct{})}
	if sl.end == nil {
		close(w.done)
		return w
	}
	feed, err := newLineFeed(sl.end, nil, w.report)
	if err != nil {
		close(w.done)
		return w
	}
	w.feed = feed
	go func() {
		defer close(w.done)
		feed.run()
	}()
	return w
}

// report takes one line of the FIFO: the end report is `trap -p EXIT`
// (any number of lines), NUL, the status.
func (w *endWatch) report(line []byte) error {
	text, st, ok := bytes.Cut(line, []byte{0})
	if !ok {
		w.trap = true
		return nil
	}
	trap := w.trap || len(text) > 0
	w.trap = false
	n, err := strconv.Atoi(string(st))
	if trap || err != nil || n < 0 || n > 255 || w.ended.Fired() {
		return nil
	}
	if confirmExit(w.pid, n) {
		w.status = n
		w.ended.Go()
	}
	return nil
}

// confirmExit reports whether pid is exiting with status, as the kernel
// says. The child reports just before it exits, so this waits for that a
// little: yielding first, then in short sleeps, for a few milliseconds.
func confirmExit(pid, status int) bool {
	deadline := time.Now().Add(5 * time.Millisecond)
	for i := 0; ; i++ {
		if ws, ok := proc.Exiting(pid); ok && ws.Exited() && ws.ExitStatus() == status {
			return true
		}
		if time.Now().After(deadline) || proc.Stat(pid).State == "" {
			return false
		}
		if i < 50 {
			runtime.Gosched()
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
}
