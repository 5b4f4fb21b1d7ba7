package threads

import (
	"context"
	"log/slog"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/mothreads/mothreads/signals"
)

// Func is the body of a Thread. It receives its Thread, whose PleaseStop
// Signal it must watch and obey promptly, and returns the thread's error.
//
// The seed passes only the please-stop Signal; passing the Thread instead
// also gives the body its logger, its Tills and the right to start children,
// which every real body needs.
type Func func(t *Thread) error

// Thread is a named unit of work running on its own goroutine, with a parent,
// a please-stop Signal, and a Stopped Signal.
//
// The rules, ported from mo-threads:
//   - Every Thread but a root has a parent. When a thread is asked to stop,
//     its children are asked too (in reverse start order), and so on down.
//   - A thread counts as stopped only once its body has returned and all its
//     children have stopped: after the body returns, the thread asks its
//     remaining children to stop and joins them one by one, the last started
//     first, waiting for each at most its stop timeout (see StopTimeout). A
//     child that misses its deadline is logged by path and reported by Main.
//   - Someone should hear about every error: Join returns it; Release says
//     nobody will join, so it is logged; an error that nobody joined or
//     released is passed up to the parent when the parent collects its
//     children, or logged once it has waited a minute for that (see
//     LogUnjoinedAfter), as the seed does.
//
// Asking a thread to stop is a request; each body decides how to finish (a
// server drains, a pool finishes its calls). A second signal to Main fires
// Forced, which says: stop waiting.
type Thread struct {
	name          string
	path          string
	parent        *Thread
	owner         *Thread // who waits for this thread: its parent, or the ancestor that adopted it
	tree          *tree
	logOnce       sync.Once
	log           *slog.Logger // made on first use: most threads never log
	stopTimeout   time.Duration
	unjoinedAfter time.Duration
	slot          chan struct{} // the parent's limit slot this thread holds (see SetLimit)

	pleaseStop signals.Signal
	stopped    signals.Signal

	mu       sync.Mutex
	ctx      context.Context // created on first use
	children []*Thread       // live children (own and adopted), in start order
	failed   []*Thread       // stopped children with an error nobody claimed yet
	closed   bool            // finish took its last look at children: no new ones
	limit    chan struct{}   // SetLimit's slots, nil without a limit
	done     bool            // err and result are set
	err      error
	result   any
	claimed  bool // joined, released and logged, collected, or logged unjoined
	released bool
	unjoined *time.Timer // reports the error if nobody claims it in time
}

// Go starts fn on a new goroutine as a child of parent, named name, and
// returns the child. It panics if parent or fn is nil.
//
// If parent is stopping, the child still runs, with its please-stop Signal
// already fired, and parent waits for it. If parent has already stopped, the
// child is adopted by the nearest ancestor still running, which waits for
// it and hears its error (its Path and Parent stay those under parent). If
// the whole tree has stopped, nobody could wait for the child: fn does not
// run, and the child has stopped at once with ErrTreeStopped.
//
// If parent has a limit (SetLimit), Go first waits for a free slot.
func Go(parent *Thread, name string, fn Func, opts ...Option) *Thread {
	if fn == nil {
		panic("threads: Go with a nil Func")
	}
	return start(parent, name, opts, parent.acquireSlot(), func(t *Thread) (any, error) { return nil, fn(t) })
}

// Task is a Thread whose body returns a value as well as an error.
type Task[T any] struct {
	*Thread
}

// GoValue is Go for a body that returns a value; Join on the Task returns it.
func GoValue[T any](parent *Thread, name string, fn func(t *Thread) (T, error), opts ...Option) *Task[T] {
	if fn == nil {
		panic("threads: GoValue with a nil func")
	}
	t := start(parent, name, opts, parent.acquireSlot(), func(t *Thread) (any, error) { return fn(t) })
	return &Task[T]{t}
}

// Join waits until the task has stopped and returns its value and error (see
// Thread.Join).
func (t *Task[T]) Join() (T, error) {
	err := t.Thread.Join()
	v, _ := t.Thread.result.(T) // written before stopped fired
	return v, err
}

// JoinTill is Join bounded by till (see Thread.JoinTill); the value is the
// zero T when till fired first.
func (t *Task[T]) JoinTill(till *signals.Signal) (T, error) {
	if !t.stopped.WaitTill(till) {
		var zero T
		return zero, t.notStopped()
	}
	return t.Join()
}

// start makes the child and runs body on a new goroutine, unless the tree has
// stopped.
func start(parent *Thread, name string, opts []Option, slot chan struct{}, body func(*Thread) (any, error)) *Thread {
	t := newChild(parent, name, opts)
	t.slot = slot
	if t.owner == nil {
		t.Logger().Warn("thread not started: its tree has stopped")
		t.finish(nil, ErrTreeStopped)
		return t
	}
	go t.run(body)
	return t
}

func newChild(parent *Thread, name string, opts []Option) *Thread {
	if parent == nil {
		panic("threads: a Thread needs a parent; use NewRoot or Main for the root")
	}
	cfg := config{stopTimeout: parent.tree.stopTimeout, unjoinedAfter: parent.tree.unjoinedAfter}
	for _, o := range opts {
		o(&cfg)
	}
	t := &Thread{
		name:          name,
		path:          parent.path + "/" + name,
		parent:        parent,
		tree:          parent.tree,
		stopTimeout:   cfg.stopTimeout,
		unjoinedAfter: cfg.unjoinedAfter,
	}
	t.pleaseStop.Then(t.askChildren)
	for owner := parent; owner != nil; owner = owner.owner {
		owner.mu.Lock()
		if owner.closed { // it has stopped: try the one that waits for it
			owner.mu.Unlock()
			continue
		}
		t.owner = owner
		owner.children = append(owner.children, t)
		t.tree.add(t)
		owner.mu.Unlock()
		// Checked after the append: either the owner's askChildren saw t, or
		// its please-stop had fired before this check.
		if owner.pleaseStop.Fired() || parent.pleaseStop.Fired() {
			t.pleaseStop.Go()
		}
		return t
	}
	t.pleaseStop.Go() // the whole tree has stopped
	return t
}

// askChildren fires the please-stop Signal of every child, the last started
// first; it runs when t's own please-stop fires.
func (t *Thread) askChildren() {
	t.mu.Lock()
	kids := slices.Clone(t.children)
	t.mu.Unlock()
	for _, c := range slices.Backward(kids) {
		c.pleaseStop.Go()
	}
}

// run executes body under a pprof label carrying the thread's path, then
// finishes the thread, also when body ends its goroutine with
// runtime.Goexit.
func (t *Thread) run(body func(*Thread) (any, error)) {
	pprof.Do(context.Background(), pprof.Labels("thread", t.path), func(context.Context) {
		var (
			v        any
			err      error
			returned bool
		)
		defer func() {
			if !returned {
				err = ErrGoexit
			}
			t.finish(v, err)
		}()
		v, err = call(body, t)
		returned = true
	})
}

func call(body func(*Thread) (any, error), t *Thread) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = newPanicError(p)
		}
	}()
	return body(t)
}

// Name returns the name given when the thread was started.
func (t *Thread) Name() string { return t.name }

// Path returns the thread's position in the tree, such as
// "main/pool/session-3". It is the pprof label "thread" and the "thread"
// attribute of Logger.
func (t *Thread) Path() string { return t.path }

// Parent returns the parent thread, or nil for a root.
func (t *Thread) Parent() *Thread { return t.parent }

// PleaseStop returns the Signal that asks the thread to stop. A body must
// return promptly once it fires. Firing it (or calling Stop) is how anyone
// asks the thread to stop.
func (t *Thread) PleaseStop() *signals.Signal { return &t.pleaseStop }

// Stopped returns the Signal that fires once the thread's body has returned
// and all its children have stopped. It carries no result; use Join for that.
func (t *Thread) Stopped() *signals.Signal { return &t.stopped }

// Forced returns the tree's Signal that fires when the shutdown is forced (a
// second SIGINT or SIGTERM to Main, or Force on the root). Bodies that drain
// should stop draining when it fires.
func (t *Thread) Forced() *signals.Signal { return &t.tree.forced }

// Stop asks the thread, and through it its children, to stop. It does not
// wait; use Join or Stopped for that.
func (t *Thread) Stop() { t.pleaseStop.Go() }

// Logger returns the thread's logger: the tree's logger with a "thread"
// attribute holding the thread's path.
func (t *Thread) Logger() *slog.Logger {
	t.logOnce.Do(func() { t.log = t.tree.log.With("thread", t.path) })
	return t.log
}

// Till returns a Till of the tree's Timers: it fires after d, or at once when
// the root is asked to stop (see signals.Timers for the trap this implies).
func (t *Thread) Till(d time.Duration) (*signals.Signal, func() bool) {
	return t.tree.timers.Till(d)
}

// String returns the thread's path.
func (t *Thread) String() string { return t.path }
