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
// Trap: a goroutine that never calls unregister makes its parent wait for it
// until the stop timeout, then be reported as late; use defer.
func (t *Thread) Register(name string, opts ...Option) (child *Thread, unregister func()) {
	c := newChild(t, name, opts)
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("thread", c.path)))
	var once sync.Once
	return c, func() {
		once.Do(func() {
			pprof.SetGoroutineLabels(context.Background())
			c.finish(nil, nil)
		})
	}
}
