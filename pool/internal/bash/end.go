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
// ended fires at the first report that the script ran to its end with no
// EXIT trap. It decides nothing by itself: the call ends there only if the
// kernel confirms that the child is exiting with that status (confirmExit),
// and a report written by anything else (the script itself, anything that
// found the FIFO) is not confirmed.
type endWatch struct {
	ended  signals.Signal
	status int  // the reported status, once ended fired
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
	w.status = n
	w.ended.Go()
	return nil
}

// exitingWith reports whether pid is exiting with status, as the kernel
// says now.
func exitingWith(pid, status int) bool {
	ws, ok := proc.Exiting(pid)
	return ok && ws.Exited() && ws.ExitStatus() == status
}

// confirmExit reports whether pid is exiting with status, as the kernel
// says. The child reports just before it exits, so this waits for that a
// little: a few milliseconds at most (see poll).
func confirmExit(pid, status int) bool {
	return poll(5*time.Millisecond, func() (bool, bool) {
		if exitingWith(pid, status) {
			return true, true
		}
		return false, proc.Stat(pid).State == ""
	})
}

// poll calls check until it says done (ok: its verdict) or limit has
// passed (false). For the first 200 µs it calls it again at once, yielding
// the processor between calls (each is a read of /proc, microseconds): a
// sleep that short takes a few hundred microseconds here, as the runtime's
// timers and the idle processor wake late, which is most of an isolated
// call. After that it sleeps, doubling the pause up to half a millisecond,
// so that a slow exit does not cost a processor.
func poll(limit time.Duration, check func() (ok, done bool)) bool {
	start := time.Now()
	for pause := 20 * time.Microsecond; ; {
		if ok, done := check(); ok || done {
			return ok
		}
		waited := time.Since(start)
		switch {
		case waited > limit:
			return false
		case waited < 200*time.Microsecond:
			runtime.Gosched()
		default:
			time.Sleep(pause)
			pause = min(2*pause, 500*time.Microsecond)
		}
	}
}
