package threads_test

import (
	"log/slog"
	"testing"

	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// TestBoundedWaitsLeaveNothingOnLongLivedSignals runs the waits of the
// package bounded by Or(stop, timeout) where the awaited event wins, many
// times, and checks that nothing stays registered on stop or on the tree's
// Forced (joins of children that had to be waited for).
func TestBoundedWaitsLeaveNothingOnLongLivedSignals(t *testing.T) {
	root := threads.NewRoot("r", threads.Logger(slog.New(slog.DiscardHandler)))
	defer func() {
		root.Stop()
		if err := root.Join(); err != nil {
			t.Error(err)
		}
	}()
	stop := signals.New()
	var lock threads.Lock
	q := threads.NewQueue[int](1)
	for i := range 300 {
		timeout, release := signals.After(threads.DefaultStopTimeout)
		bound := signals.Or(stop, timeout, root.PleaseStop()) // three inputs: a real composite

		// Lock.Wait woken by another goroutine.
		lock.Lock()
		woke := make(chan struct{})
		go func() {
			lock.Lock()
			close(woke)
			lock.Unlock()
		}()
		if !lock.Wait(bound) {
			t.Fatalf("iteration %d: Lock.Wait timed out", i)
		}
		lock.Unlock()
		<-woke

		// Queue.Pop where the item wins.
		go q.Add(i, nil)
		if v, r := q.Pop(bound); r != threads.Item || v != i {
			t.Fatalf("iteration %d: Pop = %v, %v", i, v, r)
		}

		// A join that has to wait, bounded by the composite.
		gate := signals.New()
		c := threads.Go(root, "c", func(c *threads.Thread) error {
			gate.Wait()
			return nil
		})
		go gate.Go()
		if err := c.JoinTill(bound); err != nil {
			t.Fatalf("iteration %d: JoinTill = %v", i, err)
		}
		release()
	}
	if n := stop.NumCallbacks(); n != 0 {
		t.Fatalf("%d callbacks left on stop", n)
	}
	if n := root.PleaseStop().NumCallbacks(); n > 2 { // askChildren and the Timers' Stop
		t.Fatalf("%d callbacks left on the root's PleaseStop", n)
	}
	if n := root.Forced().NumCallbacks(); n != 0 {
		t.Fatalf("%d callbacks left on Forced", n)
	}
}
