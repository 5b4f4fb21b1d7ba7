package pool

import (
	"fmt"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
)

// stickySession is a named session whose state persists between calls. One
// call runs in it at a time; others queue for it (FIFO, queue timeout).
type stickySession struct {
	name        string
	sess        *session // nil until started
	busy        bool
	waiters     []*waiter
	created     time.Time
	calls       int
	idleTimeout time.Duration // zero: never
}

// acquireSticky returns the sticky session named by c, creating it if
// needed. Creating one needs room under MaxSessions; an idle isolated
// session is retired to make room if there is none.
func (p *Pool) acquireSticky(c *driver.Call) (*session, error) {
	name := c.Req.Session
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errClosed
	}
	ss := p.sticky[name]
	if ss != nil && ss.sess != nil && ss.sess.sh.Died().Fired() && !ss.busy && len(ss.waiters) == 0 {
		// Its shell ended (an `exit` in the last call, say) and the session is
		// on its way out: the name starts afresh.
		delete(p.sticky, name)
		ss = nil
	}
	if ss == nil {
		if p.liveStickyLocked() >= p.cfg.MaxSticky && !p.evictStickyLocked() {
			p.mu.Unlock()
			return nil, &RequestError{Field: "session", Kind: Busy, Err: ErrQueueTimeout,
				Problem: fmt.Sprintf("cannot create sticky session %q: the %d sticky sessions allowed (max sticky) are all busy", name, p.cfg.MaxSticky)}
		}
		if len(p.sessions) >= p.cfg.MaxSessions && len(p.idle) > 0 {
			p.retireLocked(p.idle[0], false)
		}
		if len(p.sessions) >= p.cfg.MaxSessions+p.retiringLocked() {
			p.mu.Unlock()
			return nil, &RequestError{Field: "session", Kind: Busy, Err: ErrQueueTimeout,
				Problem: fmt.Sprintf("cannot create sticky session %q: all %d sessions are busy", name, p.cfg.MaxSessions)}
		}
		spec, err := p.stickySpec(c.Req)
		if err != nil {
			p.mu.Unlock()
			return nil, err
		}
		ss = &stickySession{name: name, busy: true, created: time.Now(), idleTimeout: p.cfg.StickyIdleTimeout}
		if c.Req.SessionIdleTimeout > 0 {
			ss.idleTimeout = c.Req.SessionIdleTimeout
		}
		p.sticky[name] = ss
		w := newWaiter(c)
		ss.waiters = append(ss.waiters, w)
		p.startingSticky++
		p.newSessionLocked(name, spec)
		p.mu.Unlock()
		return p.await(w, func() bool { return p.dequeueLocked(&ss.waiters, w) })
	}
	if !ss.busy && ss.sess != nil {
		ss.busy = true
		ss.calls++
		p.assignLocked(ss.sess, c)
		p.mu.Unlock()
		return ss.sess, nil
	}
	w := newWaiter(c)
	ss.waiters = append(ss.waiters, w)
	p.mu.Unlock()
	return p.await(w, func() bool { return p.dequeueLocked(&ss.waiters, w) })
}

func (p *Pool) retiringLocked() int {
	n := 0
	for s := range p.sessions {
		if s.retiring {
			n++
		}
	}
	return n
}

// stickySpec is the shell spec of a new sticky session: it starts in the
// caller's directory and environment (BaseDir, BaseEnv), as a terminal
// opened from the caller would.
func (p *Pool) stickySpec(req *Request) (*driver.Spec, error) {
	spec := p.spec()
	spec.Sticky = true
	if req.HasBaseEnv {
		spec.Env = driver.Environ(driver.EnvMap(req.BaseEnv))
	}
	if req.BaseDir != "" {
		dir, err := driver.ResolveDir(&Request{BaseDir: req.BaseDir}, p.cfg.Dir)
		if err != nil {
			return nil, err
		}
		spec.Dir = dir
	}
	return spec, nil
}

// stickyStartedLocked hands a newly started sticky session to its first
// waiter (the call that created it).
func (p *Pool) stickyStartedLocked(s *session) {
	p.startingSticky--
	ss := p.sticky[s.sticky]
	if ss == nil {
		p.retireLocked(s, false)
		return
	}
	ss.sess = s
	ss.busy = false
	p.stickyReleasedLocked(s)
}

// stickyReleasedLocked passes the sticky session to its next waiter.
func (p *Pool) stickyReleasedLocked(s *session) {
	ss := p.sticky[s.sticky]
	if ss == nil || ss.sess != s {
		return
	}
	s.lastUsed = time.Now()
	if len(ss.waiters) == 0 {
		ss.busy = false
		return
	}
	w := ss.waiters[0]
	ss.waiters = ss.waiters[1:]
	ss.busy = true
	ss.calls++
	p.assignLocked(s, w.c)
	w.ready <- s
}

// liveStickyLocked counts the sticky sessions that hold or will hold a
// session (not those on their way out).
func (p *Pool) liveStickyLocked() int {
	n := 0
	for _, ss := range p.sticky {
		if ss.sess == nil || !ss.sess.retiring {
			n++
		}
	}
	return n
}

// evictStickyLocked closes the least recently used idle sticky session, to
// make room; it reports false if every sticky session is busy.
func (p *Pool) evictStickyLocked() bool {
	var lru *stickySession
	for _, ss := range p.sticky {
		s := ss.sess
		if s == nil || ss.busy || len(ss.waiters) > 0 || s.retiring {
			continue
		}
		if lru == nil || s.lastUsed.Before(lru.sess.lastUsed) {
			lru = ss
		}
	}
	if lru == nil {
		return false
	}
	p.log.Info("closing the least recently used idle sticky session to make room", "session", lru.name,
		"idle", time.Since(lru.sess.lastUsed).Round(time.Second))
	delete(p.sticky, lru.name)
	p.retireLocked(lru.sess, false)
	return true
}

// stickyFailedLocked fails the calls waiting for a sticky session that could
// not start.
func (p *Pool) stickyFailedLocked(s *session, err error) {
	p.startingSticky--
	ss := p.sticky[s.sticky]
	if ss == nil {
		return
	}
	delete(p.sticky, s.sticky)
	for _, w := range ss.waiters {
		w.fail(sessionStartError(err))
	}
}

// stickyGoneLocked forgets a sticky session whose shell has stopped; calls
// still waiting for it fail, and the next call by that name starts afresh.
func (p *Pool) stickyGoneLocked(s *session) {
	ss := p.sticky[s.sticky]
	if ss == nil || ss.sess != s {
		return // already replaced
	}
	delete(p.sticky, s.sticky)
	for _, w := range ss.waiters {
		w.fail(&RequestError{Field: "session", Kind: Unavailable,
			Problem: fmt.Sprintf("sticky session %q ended before this call could run", s.sticky)})
	}
}
