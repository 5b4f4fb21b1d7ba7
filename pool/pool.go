package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// Pool keeps warm shell sessions and runs calls in them, one call per
// session at a time. Create it with New; stop it by stopping its thread (or
// its parent's), or with Close. Its methods are safe for concurrent use.
type Pool struct {
	cfg     Config
	kind    driverKind
	shell   string // resolved path
	version string
	thread  *threads.Thread
	log     *slog.Logger
	timers  signals.Timers // call timeouts: never fired early by a shutdown
	runDir  *runDir        // holds the sessions' private directories
	spawner *proc.Spawner
	exact   bool // the kernel reports any process's exit status (pidfd)
	reaper  *proc.Reaper
	stats   stats
	nextID  atomic.Uint64

	mu             sync.Mutex
	closed         bool
	sessions       map[*session]struct{}
	idle           []*session // oldest first
	starting       int
	waiters        []*waiter // FIFO
	sticky         map[string]*stickySession
	inflight       int
	drained        signals.Signal  // fired when closed and no call is in flight
	changed        *signals.Signal // fired (and replaced) when a session becomes idle
	kick           chan struct{}   // wakes the keeper
	sessionN       int
	startingSticky int
}

// New starts a pool as a child thread of parent named "pool", and starts
// cfg.MinIdle sessions in the background. It fails if cfg is invalid or the
// shell cannot be found.
func New(parent *threads.Thread, cfg Config) (*Pool, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	path, kind, version, err := probeShell(cfg.Shell, cfg.Driver)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		cfg: cfg, kind: kind, shell: path, version: version,
		sessions: map[*session]struct{}{},
		sticky:   map[string]*stickySession{},
		changed:  signals.New(),
		kick:     make(chan struct{}, 1),
	}
	if p.runDir, err = openRunDir(cfg.RuntimeDir, parent.Logger()); err != nil {
		return nil, err
	}
	// The spawner's locked thread is a Thread beside the pool's: it must
	// outlive every session (their parent-death signal is tied to it), and
	// the pool's body stops it last.
	p.spawner = proc.NewSpawnerOn(func(loop func()) {
		threads.Go(parent, "spawner", func(*threads.Thread) error {
			loop()
			return nil
		})
	})
	p.exact = exactStatus(kind, p.spawner)
	if p.reaper, err = proc.StartReaper(p.spawner, path, parent.Logger()); err != nil {
		p.spawner.Stop()
		p.runDir.close(parent.Logger())
		return nil, err
	}
	started := make(chan struct{})
	threads.Go(parent, "pool", func(t *threads.Thread) error {
		p.thread, p.log = t, t.Logger()
		close(started)
		return p.body(t)
	}, threads.StopTimeout(cfg.DrainTimeout+3*cfg.KillGrace+5*time.Second))
	<-started
	return p, nil
}

// Thread returns the pool's thread: stop it to stop the pool.
func (p *Pool) Thread() *threads.Thread { return p.thread }

// Close stops the pool in order (see Stop on its thread) and waits for it.
func (p *Pool) Close() error {
	p.thread.Stop()
	return p.thread.Join()
}

// body is the pool thread: it keeps sessions warm until asked to stop, then
// shuts down in order: no new calls, in-flight calls drain until
// DrainTimeout (or the tree is forced), the rest are cancelled, sessions
// stop, the reaper and spawner go last.
func (p *Pool) body(t *threads.Thread) error {
	keeper := threads.Go(t, "keeper", p.keep)
	t.PleaseStop().Wait()

	p.mu.Lock()
	p.closed = true
	waiters := p.waiters
	p.waiters = nil
	if p.inflight == 0 {
		p.drained.Go()
	}
	p.mu.Unlock()
	for _, w := range waiters {
		w.fail(&RequestError{Kind: Unavailable, Problem: "the pool is shutting down", Err: ErrClosed})
	}

	drain, release := (*signals.Timers)(nil).Till(p.cfg.DrainTimeout)
	if !p.drained.WaitTill(signals.Or(drain, t.Forced())) {
		p.log.Info("drain deadline passed: cancelling in-flight calls", "in_flight", p.inFlight())
		p.cancelAll("the pool is shutting down")
	}
	release()
	p.drained.Wait()
	keeper.Join()

	p.mu.Lock()
	all := make([]*session, 0, len(p.sessions))
	for s := range p.sessions {
		all = append(all, s)
	}
	p.mu.Unlock()
	for _, s := range all {
		s.thread.Stop()
	}
	for _, s := range all {
		s.thread.Join()
	}
	p.reaper.Close()
	p.spawner.Stop()
	p.timers.Stop()
	p.runDir.close(p.log)
	p.log.Info("pool stopped", "calls", p.stats.started.Load())
	return nil
}

func (p *Pool) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight
}

// Run runs req to completion and returns how it ended. Cancelling ctx
// cancels the call (C6): its process group gets SIGTERM, then SIGKILL after
// the kill grace. An error means the call produced no result: the request
// was refused (a *RequestError: invalid, not found, busy, unavailable) or
// its session failed under it. The call runs on the calling goroutine,
// registered as a thread of its session.
func (p *Pool) Run(ctx context.Context, req *Request) (*Result, error) {
	c, sess, err := p.begin(ctx, req)
	if err != nil {
		return nil, err
	}
	_, unregister := sess.thread.Register(fmt.Sprintf("call-%d", c.ID))
	defer unregister()
	return p.execute(sess, c)
}

// Start queues req, waits until its command has started, and returns a
// handle to signal, resize, cancel or wait for it. Cancelling ctx cancels
// the call at any phase.
func (p *Pool) Start(ctx context.Context, req *Request) (*Call, error) {
	c, sess, err := p.begin(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &callOutcome{}
	task := threads.GoValue(sess.thread, fmt.Sprintf("call-%d", c.ID), func(*threads.Thread) (*Result, error) {
		out.r, out.err = p.execute(sess, c)
		return out.r, nil
	})
	select {
	case <-c.Started().Done():
	case <-task.Stopped().Done():
	}
	if !c.Started().Fired() {
		if _, perr := task.Join(); perr != nil {
			return nil, perr
		}
		return nil, out.err
	}
	return &Call{c: c, task: task, out: out}, nil
}

// begin validates req and queues it for a session.
func (p *Pool) begin(ctx context.Context, req *Request) (*driver.Call, *session, error) {
	queued := time.Now()
	if err := req.Validate(p.cfg.Limits); err != nil {
		p.stats.rejected.Add(1)
		return nil, nil, err
	}
	if req.KillGrace > p.cfg.KillGrace {
		// A call's grace bounds how long a shutdown waits for it.
		p.stats.rejected.Add(1)
		return nil, nil, &RequestError{Field: "kill_grace", Kind: Invalid, Problem: fmt.Sprintf(
			"%v is longer than the pool's kill grace, %v, the most a call may ask for", req.KillGrace, p.cfg.KillGrace)}
	}
	timeout, grace := req.Timeout, req.KillGrace
	if timeout == 0 {
		timeout = p.cfg.DefaultTimeout
	}
	if grace == 0 {
		grace = p.cfg.KillGrace
	}
	c := driver.NewCall(p.nextID.Add(1), req, queued, timeout, grace, &p.timers)
	c.WatchContext(ctx)
	sess, err := p.acquire(c)
	if err != nil {
		c.StopWatching()
		p.stats.rejected.Add(1)
		return nil, nil, err
	}
	p.stats.queueWait(time.Since(queued))
	p.stats.started.Add(1)
	return c, sess, nil
}

// execute runs c on sess and releases the session. If the session turned
// out to be broken before the command started (its shell or its spare child
// dead), the call moves to another session: nothing of it has run. Each
// broken session is retired, so MaxSessions retries reach a fresh one even
// when every session was broken at once.
func (p *Pool) execute(sess *session, c *driver.Call) (*Result, error) {
	defer c.StopWatching()
	for attempt := 0; ; attempt++ {
		r, err := sess.sh.Run(c)
		if r != nil {
			r.Queued, r.Started, r.Finished = c.Queued, c.StartedAt(), time.Now()
		}
		p.release(sess, c, r, err)
		if err == nil || c.Started().Fired() || attempt >= p.cfg.MaxSessions || isRequestError(err) {
			return r, err
		}
		p.log.Warn("session failed before the call started; retrying on another", "session", sess.name, "err", err)
		if sess, err = p.acquire(c); err != nil {
			return nil, err
		}
	}
}

// WaitWarm waits until MinIdle sessions (at least one) are idle and ready
// to start a call at once, or ctx is done. A daemon can use it to report
// itself serving only once warm; benchmarks use it to measure a call that
// arrives at an idle pool.
func (p *Pool) WaitWarm(ctx context.Context) error {
	done, stop := signals.FromContext(ctx)
	defer stop()
	want := max(p.cfg.MinIdle, 1)
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return errClosed
		}
		changed := p.changed
		var ready []*signals.Signal
		for _, s := range p.idle {
			ready = append(ready, s.sh.Ready())
		}
		if len(ready) < want && len(p.sessions) < p.cfg.MaxSessions {
			p.kickKeeper()
		}
		p.mu.Unlock()
		if len(ready) >= want {
			if signals.And(ready...).WaitTill(done) {
				return nil
			}
			return ctx.Err()
		}
		if !changed.WaitTill(done) {
			return ctx.Err()
		}
	}
}

// cancelAll cancels every call in flight.
func (p *Pool) cancelAll(why string) {
	p.mu.Lock()
	var calls []*driver.Call
	for s := range p.sessions {
		if s.current != nil {
			calls = append(calls, s.current)
		}
	}
	p.mu.Unlock()
	for _, c := range calls {
		c.CancelWith(why)
	}
}

// errClosed is returned to calls that arrive after the pool closed.
var errClosed = &RequestError{Kind: Unavailable, Problem: "the pool is shutting down", Err: ErrClosed}

func isRequestError(err error) bool {
	var re *RequestError
	return errors.As(err, &re)
}
