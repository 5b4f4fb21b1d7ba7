package threads

import (
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mothreads/mothreads/signals"
)

// DefaultStopTimeout is how long a parent waits for a child to stop, unless
// StopTimeout says otherwise.
const DefaultStopTimeout = 10 * time.Second

// DefaultUnjoinedAfter is how long the error of a thread that nobody joined
// or released waits to be claimed before it is logged, unless
// LogUnjoinedAfter says otherwise: the seed's minute.
const DefaultUnjoinedAfter = time.Minute

// Option configures a root (NewRoot, Main) or a thread (Go, GoValue,
// Register). Options that only make sense for a root are ignored elsewhere.
type Option func(*config)

type config struct {
	logger        *slog.Logger
	stopTimeout   time.Duration
	unjoinedAfter time.Duration
	dumpTo        io.Writer
	secondSignal  func()
}

// StopTimeout sets how long the parent waits for this thread to stop before
// giving up on it (and reporting it by path). On a root it sets the default
// for every thread of the tree.
func StopTimeout(d time.Duration) Option {
	return func(c *config) { c.stopTimeout = d }
}

// LogUnjoinedAfter sets how long the error of a thread that failed, and
// that nobody joined or released, waits to be claimed. Until then it is
// passed up: the parent's Join (or JoinChildren) returns it. After d it is
// logged at error level, by path, and dropped, so that a long-lived parent
// does not keep every failed child until it stops and a failure is not
// silent for that long. A d <= 0 keeps it for the parent, however long that
// takes. On a root it sets the default for every thread of the tree
// (DefaultUnjoinedAfter, the seed's minute, if not given).
func LogUnjoinedAfter(d time.Duration) Option {
	return func(c *config) { c.unjoinedAfter = d }
}

// Logger sets a root's logger; every thread logs through it with a "thread"
// attribute. The default is slog.Default().
func Logger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// DumpTo sets where Main writes goroutine stacks on SIGUSR1 (default
// os.Stderr).
func DumpTo(w io.Writer) Option {
	return func(c *config) { c.dumpTo = w }
}

// OnSecondSignal makes Main call fn on the second SIGINT or SIGTERM instead of
// forcing the shutdown; the third one forces it (see Force). A program that
// can hurry its shutdown without abandoning threads passes what does that:
// a server that cancels its requests in flight instead of letting them
// finish, so that an impatient second Ctrl-C still ends in order, with every
// thread joined, and only a third one leaves threads behind. fn runs on
// Main's goroutine once and must not block; the tree is not forced, so the
// threads' stop timeouts still bound the shutdown.
func OnSecondSignal(fn func()) Option {
	return func(c *config) { c.secondSignal = fn }
}

// tree is the state shared by all threads under one root.
type tree struct {
	root          *Thread
	log           *slog.Logger
	stopTimeout   time.Duration
	unjoinedAfter time.Duration
	timers        signals.Timers
	forced        signals.Signal

	mu      sync.Mutex
	live    map[*Thread]struct{}
	lateSet map[*Thread]struct{} // missed a join deadline and still running
}

func (tr *tree) add(t *Thread) {
	tr.mu.Lock()
	tr.live[t] = struct{}{}
	tr.mu.Unlock()
}

func (tr *tree) remove(t *Thread) {
	tr.mu.Lock()
	delete(tr.live, t)
	delete(tr.lateSet, t)
	tr.mu.Unlock()
}

func (tr *tree) late(t *Thread) {
	tr.mu.Lock()
	if _, ok := tr.live[t]; ok {
		tr.lateSet[t] = struct{}{}
	}
	tr.mu.Unlock()
}

func (tr *tree) paths(set map[*Thread]struct{}) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t.path)
	}
	slices.Sort(out)
	return out
}

// NewRoot returns the root of a new thread tree, named name. Its body waits
// until it is asked to stop; start the program's threads as its children,
// then Stop and Join it to shut them all down in order. When the root is
// asked to stop, every pending Till of the tree fires early.
//
// Nothing happens to the process: no OS signal is handled (see Main for
// that), no global is set. Tests can have a root each.
func NewRoot(name string, opts ...Option) *Thread {
	root := newRoot(name, opts)
	go root.run(func(t *Thread) (any, error) {
		t.pleaseStop.Wait()
		return nil, nil
	})
	return root
}

func newRoot(name string, opts []Option) *Thread {
	cfg := config{stopTimeout: DefaultStopTimeout, unjoinedAfter: DefaultUnjoinedAfter}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	tr := &tree{
		log:           cfg.logger,
		stopTimeout:   cfg.stopTimeout,
		unjoinedAfter: cfg.unjoinedAfter,
		live:          make(map[*Thread]struct{}),
		lateSet:       make(map[*Thread]struct{}),
	}
	root := &Thread{name: name, path: name, tree: tr, stopTimeout: cfg.stopTimeout, unjoinedAfter: cfg.unjoinedAfter}
	tr.root = root
	root.pleaseStop.Then(root.askChildren)
	tr.add(root)
	root.pleaseStop.Then(func() { tr.timers.Stop() })
	return root
}

// Force fires the tree's Forced Signal and asks the root to stop: joins stop
// waiting for threads that have not stopped, and bodies that drain should
// give up. It is what a second SIGINT or SIGTERM does in Main.
func (t *Thread) Force() {
	t.tree.forced.Go()
	t.tree.timers.Stop()
	t.tree.root.Stop()
}

// Running returns the paths of the threads of t's tree that have not stopped,
// sorted. After a shutdown it names the threads that did not stop.
func (t *Thread) Running() []string {
	return t.tree.paths(t.tree.live)
}

// Late returns the paths of threads that missed their stop deadline and are
// still running, sorted.
func (t *Thread) Late() []string {
	return t.tree.paths(t.tree.lateSet)
}
