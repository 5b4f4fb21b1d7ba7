package pool

import (
	"fmt"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// session is the pool's record of one shell session. Its fields other than
// id, name, sticky and thread are guarded by Pool.mu.
type session struct {
	id     int
	name   string // "session-3", or "sticky-NAME"
	sticky string
	thread *threads.Thread

	sh       driver.Shell // nil while starting
	born     time.Time
	lastUsed time.Time
	uses     int
	current  *driver.Call    // the call it runs, if any
	free     *signals.Signal // fires when current ends
	retiring bool
	counted  bool // counted as recycled or replaced already
}

// newSessionLocked registers a new session and starts its thread, which
// starts its shell. Call with p.mu held.
func (p *Pool) newSessionLocked(sticky string, spec *driver.Spec) *session {
	p.sessionN++
	s := &session{id: p.sessionN, sticky: sticky, born: time.Now()}
	s.name = fmt.Sprintf("session-%d", s.id)
	if sticky != "" {
		s.name = "sticky-" + sticky
	}
	p.sessions[s] = struct{}{}
	p.starting++
	spec.Name = s.name
	s.thread = threads.Go(p.thread, s.name, func(t *threads.Thread) error {
		return p.sessionBody(t, s, spec)
	}, threads.StopTimeout(p.cfg.DrainTimeout+3*p.cfg.KillGrace+5*time.Second))
	return s
}

// spec returns the shell spec for a new isolated session.
func (p *Pool) spec() *driver.Spec {
	return &driver.Spec{
		Shell:        p.shell,
		Init:         p.cfg.Init,
		Env:          p.cfg.Env,
		Dir:          p.cfg.Dir,
		RuntimeDir:   p.runDir.path,
		StartTimeout: p.cfg.StartTimeout,
		Abort:        p.thread.PleaseStop(),
		Spawner:      p.spawner,
		Reaper:       p.reaper,
		Launcher:     p.cfg.Launcher,
		ExactStatus:  p.exact,
	}
}

// sessionBody is a session's thread: start the shell, serve until asked to
// stop or until the shell dies, let the current call end, stop the shell.
func (p *Pool) sessionBody(t *threads.Thread, s *session, spec *driver.Spec) error {
	spec.Log, spec.Thread = t.Logger(), t
	sh, err := newShell(p.kind, spec)
	p.mu.Lock()
	p.starting--
	if err != nil {
		delete(p.sessions, s)
		p.stats.startFailures.Add(1)
		p.startFailedLocked(s, err)
		p.mu.Unlock()
		t.Logger().Error("session failed to start", "err", err)
		p.kickKeeper()
		return nil
	}
	s.sh = sh
	s.lastUsed = time.Now()
	p.stats.spawned.Add(1)
	if s.sticky != "" {
		p.stickyStartedLocked(s)
	} else {
		p.dispatchLocked(s)
	}
	p.mu.Unlock()
	t.Logger().Debug("session ready", "pid", sh.PID())

	select {
	case <-t.PleaseStop().Done():
	case <-sh.Died().Done():
		t.Logger().Info("session's shell exited", "pid", sh.PID())
	}
	p.mu.Lock()
	p.removeIdleLocked(s)
	s.retiring = true
	busy, free := s.current != nil, s.free
	p.mu.Unlock()
	if busy {
		free.Wait()
	}
	sh.Close(p.cfg.KillGrace)

	p.mu.Lock()
	delete(p.sessions, s)
	if s.sticky != "" {
		p.stickyGoneLocked(s)
	}
	if !s.counted {
		p.stats.replaced.Add(1) // died or stopped without the pool asking
	}
	p.mu.Unlock()
	p.kickKeeper()
	return nil
}

// retireLocked asks an idle session to stop (recycling). Call with p.mu held.
func (p *Pool) retireLocked(s *session, replaced bool) {
	if s.retiring {
		return
	}
	s.retiring = true
	if !s.counted {
		s.counted = true
		if replaced {
			p.stats.replaced.Add(1)
		} else {
			p.stats.recycled.Add(1)
		}
	}
	p.removeIdleLocked(s)
	s.thread.Stop()
}

func (p *Pool) removeIdleLocked(s *session) {
	for i, x := range p.idle {
		if x == s {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return
		}
	}
}
