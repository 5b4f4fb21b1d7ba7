package pool

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
)

// Stats is a snapshot of a pool's figures (C14).
type Stats struct {
	// Gauges.
	SessionsIdle     int
	SessionsBusy     int
	SessionsStarting int
	StickySessions   int
	QueueLength      int
	InFlight         int
	// Counters since the pool started.
	SessionsSpawned       int64
	SessionsRecycled      int64 // retired by policy: MaxUses, MaxAge, IdleTimeout
	SessionsReplaced      int64 // discarded after misbehaving or dying
	SessionStartFailures  int64
	CallsStarted          int64
	CallsOK               int64 // exited 0
	CallsFailed           int64 // exited non-zero, or killed by a signal the pool did not send
	CallsTimedOut         int64
	CallsCancelled        int64
	CallsSessionLost      int64
	CallsRejected         int64 // refused before starting
	QueueWaitP50          time.Duration
	QueueWaitP99          time.Duration
	QueueWaitMax          time.Duration
	LatencyP50            time.Duration // queued to finished, over the last 1024 calls
	LatencyP90            time.Duration
	LatencyP99            time.Duration
	MinIdle, MaxSessions  int
	Shell, ShellVersion   string
	IdleSessionMemoryHint int64 // private bytes of one idle session, measured on the last Stats call
}

const window = 1024

type stats struct {
	started, ok, failed, timedOut, cancelled, lost, rejected atomic.Int64
	spawned, recycled, replaced, startFailures               atomic.Int64

	mu      sync.Mutex
	latency ring
	wait    ring
	waitMax time.Duration
}

// ring keeps the last window samples.
type ring struct {
	buf [window]time.Duration
	n   int
}

func (r *ring) add(d time.Duration) {
	r.buf[r.n%window] = d
	r.n++
}

// percentiles returns the given quantiles (0..1) of the samples.
func (r *ring) percentiles(qs ...float64) []time.Duration {
	n := min(r.n, window)
	out := make([]time.Duration, len(qs))
	if n == 0 {
		return out
	}
	s := slices.Clone(r.buf[:n])
	slices.Sort(s)
	for i, q := range qs {
		out[i] = s[min(int(q*float64(n)), n-1)]
	}
	return out
}

func (s *stats) queueWait(d time.Duration) {
	s.mu.Lock()
	s.wait.add(d)
	s.waitMax = max(s.waitMax, d)
	s.mu.Unlock()
}

// record counts how a call ended.
func (s *stats) record(c *driver.Call, r *Result, err error) {
	switch {
	case err != nil || r == nil:
		s.failed.Add(1)
		return
	case r.TimedOut:
		s.timedOut.Add(1)
	case r.Cancelled:
		s.cancelled.Add(1)
	case r.SessionLost:
		s.lost.Add(1)
	case r.Success():
		s.ok.Add(1)
	default:
		s.failed.Add(1)
	}
	s.mu.Lock()
	s.latency.add(time.Since(c.Queued))
	s.mu.Unlock()
}

// Stats returns the pool's current figures. It is cheap and safe to call at
// any time.
func (p *Pool) Stats() Stats {
	st := Stats{
		SessionsSpawned:      p.stats.spawned.Load(),
		SessionsRecycled:     p.stats.recycled.Load(),
		SessionsReplaced:     p.stats.replaced.Load(),
		SessionStartFailures: p.stats.startFailures.Load(),
		CallsStarted:         p.stats.started.Load(),
		CallsOK:              p.stats.ok.Load(),
		CallsFailed:          p.stats.failed.Load(),
		CallsTimedOut:        p.stats.timedOut.Load(),
		CallsCancelled:       p.stats.cancelled.Load(),
		CallsSessionLost:     p.stats.lost.Load(),
		CallsRejected:        p.stats.rejected.Load(),
		MinIdle:              p.cfg.MinIdle,
		MaxSessions:          p.cfg.MaxSessions,
		Shell:                p.shell,
		ShellVersion:         p.version,
	}
	p.stats.mu.Lock()
	w := p.stats.wait.percentiles(0.5, 0.99)
	l := p.stats.latency.percentiles(0.5, 0.9, 0.99)
	st.QueueWaitMax = p.stats.waitMax
	p.stats.mu.Unlock()
	st.QueueWaitP50, st.QueueWaitP99 = w[0], w[1]
	st.LatencyP50, st.LatencyP90, st.LatencyP99 = l[0], l[1], l[2]

	p.mu.Lock()
	var idle *session
	for s := range p.sessions {
		switch {
		case s.sh == nil:
			st.SessionsStarting++
		case s.current != nil:
			st.SessionsBusy++
		}
		if s.sticky != "" {
			st.StickySessions++
		}
	}
	st.SessionsIdle = len(p.idle)
	if len(p.idle) > 0 {
		idle = p.idle[0]
	}
	st.QueueLength = len(p.waiters)
	for _, ss := range p.sticky {
		st.QueueLength += len(ss.waiters)
	}
	st.InFlight = p.inflight
	p.mu.Unlock()
	if idle != nil {
		st.IdleSessionMemoryHint = idle.sh.Memory()
	}
	return st
}
