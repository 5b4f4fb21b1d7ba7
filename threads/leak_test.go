package threads_test

import (
	"testing"
	"time"

	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// Issue 13, bug 1: a wait bounded by an Or that never fires left the Or
// registered on its long-lived inputs. These are the places in threads that
// did it: a parent joining a child that takes a moment (on the tree's
// Forced), and Queue.Pop and Lock.Wait bounded by Or(stop, timeout).

func TestJoinThatWaitsLeavesNothingOnForced(t *testing.T) {
	root := threads.NewRoot("root")
	defer stopJoin(t, root)
	for range 300 {
		p := threads.Go(root, "p", func(p *threads.Thread) error {
			threads.Go(p, "c", func(c *threads.Thread) error {
				c.PleaseStop().Wait()
				time.Sleep(20 * time.Microsecond) // the parent's join has to wait
				return nil
			})
			return nil
		})
		if err := p.Join(); err != nil {
			t.Fatal(err)
		}
	}
	if have := root.Forced().NumCallbacks(); have != 0 {
		t.Fatalf("root.Forced() holds %d callbacks after 300 joins", have)
	}
}

func TestQueuePopBoundedByOrLeavesNothing(t *testing.T) {
	stop := signals.New()
	q := threads.NewQueue[int](0)
	for i := range 1000 {
		go q.Add(i, nil)
		timeout, release := (*signals.Timers)(nil).Till(time.Hour)
		if _, r := q.Pop(signals.Or(stop, timeout)); r != threads.Item {
			t.Fatalf("Pop = %v", r)
		}
		release()
	}
	if have := stop.NumCallbacks(); have != 0 {
		t.Fatalf("stop holds %d callbacks after 1000 bounded Pops", have)
	}
}

func TestLockWaitBoundedByOrLeavesNothing(t *testing.T) {
	stop := signals.New()
	var (
		lock threads.Lock
		todo int
	)
	for range 1000 {
		go func() {
			lock.Lock()
			todo++
			lock.Unlock()
		}()
		timeout, release := (*signals.Timers)(nil).Till(time.Hour)
		lock.Lock()
		for todo == 0 {
			lock.Wait(signals.Or(stop, timeout))
		}
		todo--
		lock.Unlock()
		release()
	}
	if have := stop.NumCallbacks(); have != 0 {
		t.Fatalf("stop holds %d callbacks after 1000 bounded Waits", have)
	}
}
