package threads

import (
	"context"
	"runtime/pprof"
	"sync"
)

// Register makes the calling goroutine, which the library did not start (a
// gRPC handler, a callback from another library), a child of t named name, so
// that t waits for it before it counts as stopped. It returns the child
// Thread, whose PleaseStop the goroutine should watch, and an unregister
// function that the goroutine must call when it leaves: unregister joins the
// child's own children, then marks it stopped. Calling it more than once is
// harmless.
//
// Register sets the goroutine's pprof labels to the child's path, and
// unregister clears them (it cannot restore labels set before Register).
//
// If t has already stopped, the child is adopted by the nearest ancestor
// still running, as for Go. If the whole tree has stopped, nobody can wait
// for the goroutine: the child's PleaseStop has fired, a warning is logged,
// and the goroutine should leave at once.
//
// Trap: a goroutine that never calls unregister makes its parent wait for it
// until the stop timeout, then be reported as late; use defer.
func (t *Thread) Register(name string, opts ...Option) (child *Thread, unregister func()) {
	c := newChild(t, name, opts)
	if c.owner == nil {
		c.Logger().Warn("goroutine registered on a stopped tree: nobody waits for it")
	}
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("thread", c.path)))
	var once sync.Once
	return c, func() {
		once.Do(func() {
			pprof.SetGoroutineLabels(context.Background())
			c.finish(nil, nil)
		})
	}
}
