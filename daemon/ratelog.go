package daemon

import (
	"log/slog"
	"sync"
	"time"
)

// rateLog writes refusal warnings, at most perSecond lines in each
// one-second window. The lines beyond are counted, and the count is logged
// when the window ends ("refusals not logged"), so a flood costs a few
// lines a second, not a megabyte, and still shows its size.
type rateLog struct {
	log       *slog.Logger
	perSecond int

	mu         sync.Mutex
	window     time.Time // start of the current window
	logged     int       // lines written in it
	suppressed int       // lines dropped in it
	flush      *time.Timer
	stopped    bool
}

func newRateLog(log *slog.Logger, perSecond int) *rateLog {
	return &rateLog{log: log, perSecond: perSecond}
}

// warn logs msg with args at WARN, unless the window's lines are spent.
func (r *rateLog) warn(msg string, args ...any) {
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.window) >= time.Second {
		r.window, r.logged = now, 0
	}
	if r.logged < r.perSecond {
		r.logged++
		r.mu.Unlock()
		r.log.Warn(msg, args...)
		return
	}
	r.suppressed++
	if r.flush == nil && !r.stopped {
		r.flush = time.AfterFunc(r.window.Add(time.Second).Sub(now), r.report)
	}
	r.mu.Unlock()
}

// report logs how many lines the ended window dropped.
func (r *rateLog) report() {
	r.mu.Lock()
	n := r.suppressed
	r.suppressed, r.flush = 0, nil
	r.mu.Unlock()
	if n > 0 {
		r.log.Warn("refusals not logged (rate limit)", "count", n, "limit_per_second", r.perSecond)
	}
}

// stop reports what is pending and stops the timer.
func (r *rateLog) stop() {
	r.mu.Lock()
	r.stopped = true
	if r.flush != nil && !r.flush.Stop() {
		r.mu.Unlock()
		return // report runs now
	}
	r.flush = nil
	r.mu.Unlock()
	r.report()
}
