package pool

import (
	"fmt"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/signals"
)

// waiter is a call queued for a session (C10: FIFO, bounded by the queue
// timeout).
type waiter struct {
	c     *driver.Call
	ready chan *session // receives the session assigned to c
	errc  chan error    // receives why c will never get one
}

func newWaiter(c *driver.Call) *waiter {
	return &waiter{c: c, ready: make(chan *session, 1), errc: make(chan error, 1)}
}

func (w *waiter) fail(err error) {
	select {
	case w.errc <- err:
	default:
	}
}

// acquire returns a session assigned to c: an idle one at once, else the
// first to become free, in FIFO order with other queued calls, starting a
// new session if the pool is below MaxSessions.
func (p *Pool) acquire(c *driver.Call) (*session, error) {
	if c.Req.Session != "" {
		return p.acquireSticky(c)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errClosed
	}
	if len(p.idle) > 0 && len(p.waiters) == 0 {
		s := p.idle[0]
		p.idle = p.idle[1:]
		p.assignLocked(s, c)
		p.mu.Unlock()
		return s, nil
	}
	w := newWaiter(c)
	p.waiters = append(p.waiters, w)
	p.growLocked()
	p.mu.Unlock()
	return p.await(w, func() bool { return p.dequeueLocked(&p.waiters, w) })
}

// await waits for w to be served, failed, cancelled or timed out. dequeue
// removes w from its queue (called with p.mu held) and reports whether it
// was still queued.
func (p *Pool) await(w *waiter, dequeue func() bool) (*session, error) {
	limit, release := (*signals.Timers)(nil).Till(p.cfg.QueueTimeout)
	defer release()
	select {
	case s := <-w.ready:
		return s, nil
	case err := <-w.errc:
		return nil, err
	case <-w.c.Cancelled().Done():
	case <-limit.Done():
	}
	p.mu.Lock()
	queued := dequeue()
	p.mu.Unlock()
	if !queued {
		// Served or failed while we gave up: take what came.
		select {
		case s := <-w.ready:
			if w.c.Cancelled().Fired() {
				p.release(s, w.c, nil, nil)
				break
			}
			return s, nil
		case err := <-w.errc:
			return nil, err
		}
	}
	if w.c.Cancelled().Fired() {
		return nil, &RequestError{Kind: Unavailable, Problem: w.c.CancelReason() + " (while queued)"}
	}
	p.mu.Lock()
	sticky := len(p.sticky)
	p.mu.Unlock()
	return nil, &RequestError{Kind: Busy, Err: ErrQueueTimeout,
		Problem: fmt.Sprintf("all %d sessions (%d of them sticky) stayed busy for the queue timeout (%v)", p.cfg.MaxSessions, sticky, p.cfg.QueueTimeout)}
}

func (p *Pool) dequeueLocked(q *[]*waiter, w *waiter) bool {
	for i, x := range *q {
		if x == w {
			*q = append((*q)[:i], (*q)[i+1:]...)
			return true
		}
	}
	return false
}

// assignLocked marks s busy with c.
func (p *Pool) assignLocked(s *session, c *driver.Call) {
	s.current = c
	s.free = signals.New()
	s.uses++
	p.inflight++
}

// growLocked starts a session if calls are waiting for more sessions than
// are starting and the pool has room.
func (p *Pool) growLocked() {
	if p.closed {
		return
	}
	for len(p.waiters) > p.starting {
		if len(p.sessions)-p.retiringLocked() >= p.cfg.MaxSessions {
			// Full: only idle sticky sessions could make room (when
			// MaxSticky allows them every session).
			if !p.evictStickyLocked() {
				return
			}
		}
		if len(p.sessions) >= p.cfg.MaxSessions {
			return // room comes when the evicted session is gone (kickKeeper)
		}
		p.newSessionLocked("", p.spec())
	}
}

// dispatchLocked gives a free isolated session to the first waiter, or
// makes it idle.
func (p *Pool) dispatchLocked(s *session) {
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.assignLocked(s, w.c)
		w.ready <- s
		return
	}
	s.lastUsed = time.Now()
	p.idle = append(p.idle, s)
	p.changed.Go()
	p.changed = signals.New()
}

// release ends c's use of s: the session goes back to work, or is retired
// if it misbehaved, died, or reached MaxUses or MaxAge.
func (p *Pool) release(s *session, c *driver.Call, r *Result, err error) {
	p.stats.record(c, r, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	s.current = nil
	s.free.Go()
	p.inflight--
	if p.closed && p.inflight == 0 {
		p.drained.Go()
	}
	dead := s.sh == nil || !s.sh.Alive()
	broken := dead || (r != nil && r.SessionLost) || (err != nil && !isRequestError(err))
	worn := p.cfg.MaxUses > 0 && s.uses >= p.cfg.MaxUses ||
		p.cfg.MaxAge > 0 && time.Since(s.born) >= p.cfg.MaxAge
	if s.sticky != "" {
		if dead {
			if ss := p.sticky[s.sticky]; ss != nil && ss.sess == s {
				ss.busy = false
			}
			p.retireLocked(s, true)
			return
		}
		p.stickyReleasedLocked(s)
		return
	}
	switch {
	case s.retiring:
	case broken || worn || p.closed:
		p.retireLocked(s, broken)
		p.growLocked()
	default:
		p.dispatchLocked(s)
	}
	p.kickKeeperLocked()
}

// startFailedLocked handles a session that failed to start: if nothing else
// can serve the oldest waiting call, it gets the start error, so a broken
// init script fails calls at once rather than after the queue timeout.
func (p *Pool) startFailedLocked(s *session, err error) {
	if s.sticky != "" {
		p.stickyFailedLocked(s, err)
		return
	}
	if len(p.waiters) > 0 && len(p.sessions) == p.starting {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w.fail(sessionStartError(err))
	}
}

func sessionStartError(err error) error {
	if isRequestError(err) {
		return err
	}
	return &RequestError{Kind: StartFailed, Problem: err.Error(), Err: err}
}

func (p *Pool) kickKeeper() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *Pool) kickKeeperLocked() { p.kickKeeper() }
