package threads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
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
//     children.
//
// Asking a thread to stop is a request; each body decides how to finish (a
// server drains, a pool finishes its calls). A second signal to Main fires
// Forced, which says: stop waiting.
type Thread struct {
	name        string
	path        string
	parent      *Thread
	tree        *tree
	logOnce     sync.Once
	log         *slog.Logger // made on first use: most threads never log
	stopTimeout time.Duration

	pleaseStop signals.Signal
	stopped    signals.Signal

	mu       sync.Mutex
	ctx      context.Context // created on first use
	children []*Thread       // live children, in start order
	failed   []*Thread       // stopped children with an error, for collection
	err      error           // set before stopped fires
	result   any
	claimed  bool // joined, released, or collected by the parent
	released bool
}

// Go starts fn on a new goroutine as a child of parent, named name, and
// returns the child. If parent is already stopping, the child still runs, with
// its please-stop Signal already fired. It panics if parent or fn is nil.
func Go(parent *Thread, name string, fn Func, opts ...Option) *Thread {
	if fn == nil {
		panic("threads: Go with a nil Func")
	}
	t := newChild(parent, name, opts)
	go t.run(func(t *Thread) (any, error) { return nil, fn(t) })
	return t
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
	t := newChild(parent, name, opts)
	go t.run(func(t *Thread) (any, error) { return fn(t) })
	return &Task[T]{t}
}

// Join waits until the task has stopped and returns its value and error (see
// Thread.Join).
func (t *Task[T]) Join() (T, error) {
	err := t.Thread.Join()
	v, _ := t.Thread.result.(T) // written before stopped fired
	return v, err
}

func newChild(parent *Thread, name string, opts []Option) *Thread {
	if parent == nil {
		panic("threads: a Thread needs a parent; use NewRoot or Main for the root")
	}
	cfg := config{stopTimeout: parent.tree.stopTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	t := &Thread{
		name:        name,
		path:        parent.path + "/" + name,
		parent:      parent,
		tree:        parent.tree,
		stopTimeout: cfg.stopTimeout,
	}
	t.pleaseStop.Then(t.askChildren)
	t.tree.add(t)

	parent.mu.Lock()
	parent.children = append(parent.children, t)
	parent.mu.Unlock()
	// Checked after the append: either the parent's askChildren saw t, or
	// its please-stop had fired before this check.
	if parent.pleaseStop.Fired() {
		t.pleaseStop.Go()
	}
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
// finishes the thread.
func (t *Thread) run(body func(*Thread) (any, error)) {
	pprof.Do(context.Background(), pprof.Labels("thread", t.path), func(context.Context) {
		v, err := call(body, t)
		t.finish(v, err)
	})
}

func call(body func(*Thread) (any, error), t *Thread) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &signals.PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return body(t)
}

// finish stops and joins the children, then marks t stopped.
func (t *Thread) finish(v any, err error) {
	// A thread whose body has returned is stopping, whether or not it was
	// asked: firing please-stop now also reaches children started late.
	t.pleaseStop.Go()

	for {
		t.mu.Lock()
		kids := slices.Clone(t.children)
		t.mu.Unlock()
		if len(kids) == 0 {
			break
		}
		for _, c := range slices.Backward(kids) {
			t.joinChild(c)
		}
	}
	t.mu.Lock()
	failed := t.failed
	t.failed = nil
	t.mu.Unlock()
	var childErrs []error
	for _, c := range failed {
		if cerr := c.collect(); cerr != nil {
			childErrs = append(childErrs, cerr)
		}
	}

	t.mu.Lock()
	t.result = v
	t.err = errors.Join(append([]error{err}, childErrs...)...)
	logIt := t.released && t.err != nil
	if logIt {
		t.claimed = true
	}
	t.mu.Unlock()

	t.tree.remove(t)
	if p := t.parent; p != nil {
		p.mu.Lock()
		if i := slices.Index(p.children, t); i >= 0 {
			p.children = slices.Delete(p.children, i, i+1)
		}
		if t.err != nil && !logIt {
			p.failed = append(p.failed, t)
		}
		p.mu.Unlock()
	}
	if logIt {
		t.Logger().Error("released thread failed", "err", t.err)
	}
	t.stopped.Go()
}

// joinChild asks c to stop and waits for it, at most its stop timeout (or
// until the tree is forced). A child that misses its deadline is dropped from
// the children, logged, and remembered by the tree as late.
func (t *Thread) joinChild(c *Thread) {
	c.pleaseStop.Go()
	if c.stopped.Fired() {
		return
	}
	deadline, release := (*signals.Timers)(nil).Till(c.stopTimeout)
	ok := c.stopped.WaitTill(signals.Or(deadline, &t.tree.forced))
	release()
	if ok {
		return
	}
	t.Logger().Warn("child did not stop within its deadline", "child", c.path, "timeout", c.stopTimeout)
	t.tree.late(c)
	t.mu.Lock()
	if i := slices.Index(t.children, c); i >= 0 {
		t.children = slices.Delete(t.children, i, i+1)
	}
	t.mu.Unlock()
}

// collect returns c's error, wrapped with its path, if nobody has claimed it,
// and claims it.
func (c *Thread) collect() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.claimed || c.err == nil {
		return nil
	}
	c.claimed = true
	return fmt.Errorf("thread %s: %w", c.path, c.err)
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

// Context returns a context that is cancelled when the thread is asked to
// stop (its cause is signals.ErrFired), and at the latest when the thread
// finishes. Use it to hand the please-stop request to context-based APIs.
func (t *Thread) Context() context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx == nil {
		// No cancel to keep: please-stop fires when the thread finishes, which
		// cancels the context and releases its callback.
		t.ctx, _ = signals.WithSignal(context.Background(), &t.pleaseStop)
	}
	return t.ctx
}

// Join waits until the thread has stopped and returns its error, wrapped with
// the thread's path; the error of a panicking body is a *signals.PanicError
// holding the panic value and stack. Children's errors that nobody claimed
// are joined into it. Join may be called any number of times.
func (t *Thread) Join() error {
	t.stopped.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.claimed = true
	if t.err == nil {
		return nil
	}
	return fmt.Errorf("thread %s: %w", t.path, t.err)
}

// Release says that nobody will join the thread: if it fails, its error is
// logged instead. The thread is still tracked and still stopped with its
// parent.
func (t *Thread) Release() {
	t.mu.Lock()
	t.released = true
	logIt := t.stopped.Fired() && t.err != nil && !t.claimed
	if logIt {
		t.claimed = true
	}
	t.mu.Unlock()
	if logIt {
		t.Logger().Error("released thread failed", "err", t.err)
	}
}

// String returns the thread's path.
func (t *Thread) String() string { return t.path }
