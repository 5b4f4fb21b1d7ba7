package threads_test

import (
	"testing"
	"time"

	"github.com/mothreads/mothreads/threads"
)

// Issue 13, bug 1: a wait bounded by an Or that never fires left the Or
// registered on its long-lived inputs. This is the place in threads that
// did it: a parent joining a child that takes a moment (on the tree's
// Forced).

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
