package pool

import (
	"time"

	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// keep is the keeper thread: it keeps MinIdle sessions warm, recycles idle
// sessions past MaxAge or IdleTimeout, and reaps sticky sessions unused for
// IdleTimeout. It runs when kicked (a session ended, failed or was released)
// and at least once a second.
func (p *Pool) keep(t *threads.Thread) error {
	backoff := time.Duration(0)
	failures := p.stats.startFailures.Load()
	for {
		if n := p.stats.startFailures.Load(); n > failures {
			// Starting sessions is failing (a broken init script, say): do not
			// hammer it; calls still get the error at once.
			failures = n
			backoff = min(max(2*backoff, 250*time.Millisecond), 30*time.Second)
		} else if backoff > 0 && p.stats.spawned.Load() > 0 {
			backoff = 0
		}
		if backoff == 0 {
			p.maintain()
		}
		wait := time.Second
		if backoff > 0 {
			wait = backoff
		}
		tick, release := (*signals.Timers)(nil).Till(wait)
		select {
		case <-t.PleaseStop().Done():
			release()
			return nil
		case <-p.kick:
		case <-tick.Done():
		}
		release()
		if backoff > 0 {
			backoff = min(backoff, wait)
			p.maintain()
		}
	}
}

// maintain applies the pool's session policy once.
func (p *Pool) maintain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	now := time.Now()
	if p.cfg.MaxAge > 0 {
		for _, s := range append([]*session(nil), p.idle...) {
			if now.Sub(s.born) >= p.cfg.MaxAge {
				p.retireLocked(s, false)
			}
		}
	}
	if p.cfg.IdleTimeout > 0 {
		// The oldest idle first; keep MinIdle of them.
		extra := len(p.idle) - p.cfg.MinIdle
		for _, s := range append([]*session(nil), p.idle...) {
			if extra <= 0 {
				break
			}
			if now.Sub(s.lastUsed) >= p.cfg.IdleTimeout {
				p.retireLocked(s, false)
				extra--
			}
		}
	}
	for _, ss := range p.sticky {
		if s := ss.sess; s != nil && ss.idleTimeout > 0 && !ss.busy && len(ss.waiters) == 0 && now.Sub(s.lastUsed) >= ss.idleTimeout {
			p.retireLocked(s, false)
		}
	}
	for len(p.idle)+p.startingIdleLocked() < p.cfg.MinIdle && len(p.sessions) < p.cfg.MaxSessions {
		p.newSessionLocked("", p.spec())
	}
}

// startingIdleLocked counts starting isolated sessions that no waiter is
// counting on.
func (p *Pool) startingIdleLocked() int {
	n := p.starting - len(p.waiters) - p.startingSticky
	return max(n, 0)
}
