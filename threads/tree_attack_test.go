package threads_test

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mothreads/mothreads/threads"
)

// TestGoRacingParentFinishHasNoOrphans starts children (Go, TryGo under a
// limit, Register) on a parent while the parent finishes, many times: every
// child ends up waited for by somebody, so after the root's Join every one
// has stopped and its error reached the root.
func TestGoRacingParentFinishHasNoOrphans(t *testing.T) {
	errBoom := errors.New("boom")
	for i := range 300 {
		root := threads.NewRoot("r", threads.Logger(slog.New(slog.DiscardHandler)))
		p := threads.Go(root, "p", func(*threads.Thread) error { return nil })
		p.SetLimit(2)
		var started atomic.Int32
		var kids []*threads.Thread
		var mu sync.Mutex
		var wg sync.WaitGroup
		for k := range 3 {
			wg.Go(func() {
				var c *threads.Thread
				switch k {
				case 0:
					c = threads.Go(p, "go", func(*threads.Thread) error { started.Add(1); return errBoom })
				case 1:
					var ok bool
					if c, ok = threads.TryGo(p, "try", func(*threads.Thread) error { started.Add(1); return errBoom }); !ok {
						return
					}
				case 2:
					var unregister func()
					c, unregister = p.Register("reg")
					started.Add(1)
					unregister()
				}
				mu.Lock()
				kids = append(kids, c)
				mu.Unlock()
			})
		}
		wg.Wait()
		root.Stop()
		err := root.Join()
		for _, c := range kids {
			if !c.Stopped().Fired() {
				t.Fatalf("iteration %d: %s had not stopped when the root's Join returned", i, c.Path())
			}
		}
		if int(started.Load()) != len(kids) {
			t.Fatalf("iteration %d: %d children started, %d bodies ran", i, len(kids), started.Load())
		}
		want := len(kids) - 1 // all but the registered one fail
		if got := countIs(err, errBoom); got != want {
			t.Fatalf("iteration %d: the root's error holds %d child failures, want %d: %v", i, got, want, err)
		}
	}
}

// countIs counts the leaves of a tree of joined and wrapped errors that are
// target.
func countIs(err, target error) int {
	if err == nil {
		return 0
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		n := 0
		for _, e := range j.Unwrap() {
			n += countIs(e, target)
		}
		return n
	}
	if err == target {
		return 1
	}
	return countIs(errors.Unwrap(err), target)
}
