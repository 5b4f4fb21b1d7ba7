package threads

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mothreads/mothreads/signals"
)

// ErrTreeStopped is the error of a thread started (Go, GoValue) on a tree
// whose root has already stopped: nobody could wait for it, so its body did
// not run.
var ErrTreeStopped = errors.New("threads: the tree has stopped; the thread was not started")

// finish stops and joins the children, settles t's error, and marks t
// stopped. Only then does t leave its owner's list of children, so the owner
// (and so the root, and Main) never counts as stopped before t.
func (t *Thread) finish(v any, err error) {
	// A thread whose body has returned is stopping, whether or not it was
	// asked: firing please-stop now also reaches children started late.
	t.pleaseStop.Go()
	t.joinChildrenForStop()
	childErrs := t.collectFailed()

	t.mu.Lock()
	t.result = v
	t.err = errors.Join(append([]error{err}, childErrs...)...)
	t.done = true
	logIt := t.released && t.err != nil
	if logIt {
		t.claimed = true
	}
	owner := t.owner
	if t.err != nil && !logIt && owner != nil {
		// Passed up to the owner, under t.mu so that a Release or Join
		// cannot claim it in between and leave it there.
		owner.mu.Lock()
		owner.failed = append(owner.failed, t)
		owner.mu.Unlock()
		if t.unjoinedAfter > 0 {
			t.unjoined = time.AfterFunc(t.unjoinedAfter, t.reportUnjoined)
		}
	}
	t.mu.Unlock()

	if logIt {
		t.Logger().Error("released thread failed", "err", t.err)
	}
	t.tree.remove(t)
	if t.slot != nil {
		<-t.slot
	}
	t.stopped.Go()
	if owner != nil {
		owner.dropChild(t)
	}
}

// joinChildrenForStop asks every child to stop and joins it, the last
// started first, until none is left; its last look closes t to new children
// (they go to an ancestor).
func (t *Thread) joinChildrenForStop() {
	for {
		t.mu.Lock()
		if len(t.children) == 0 {
			t.closed = true
			t.mu.Unlock()
			return
		}
		kids := slices.Clone(t.children)
		t.mu.Unlock()
		for _, c := range slices.Backward(kids) {
			t.joinChild(c)
		}
	}
}

// joinChild asks c to stop and waits for it, at most its stop timeout (or
// until the tree is forced): until its Stopped has fired and its callbacks
// have run, so that nothing of c still runs when t stops. A child that
// misses its deadline is dropped from the children, logged, and remembered
// by the tree as late.
func (t *Thread) joinChild(c *Thread) {
	c.pleaseStop.Go()
	done := c.stopped.Done()
	select {
	case <-done:
	default:
		deadline, release := signals.After(c.stopTimeout)
		select { // no composite: nothing stays registered on Forced
		case <-done:
		case <-deadline.Done():
		case <-t.tree.forced.Done():
		}
		release()
	}
	select {
	case <-done:
	default:
		t.Logger().Warn("child did not stop within its deadline", "child", c.path, "timeout", c.stopTimeout)
		t.tree.late(c)
	}
	t.dropChild(c)
}

// dropChild removes c from t's children, if it is there.
func (t *Thread) dropChild(c *Thread) {
	t.mu.Lock()
	if i := slices.Index(t.children, c); i >= 0 {
		t.children = slices.Delete(t.children, i, i+1)
	}
	t.mu.Unlock()
}

// dropFailed removes c from t's failed children, if it is there.
func (t *Thread) dropFailed(c *Thread) {
	t.mu.Lock()
	if i := slices.Index(t.failed, c); i >= 0 {
		t.failed = slices.Delete(t.failed, i, i+1)
	}
	t.mu.Unlock()
}

// collectFailed claims the errors of t's failed children that nobody has
// claimed, wrapped with their paths.
func (t *Thread) collectFailed() []error {
	t.mu.Lock()
	failed := t.failed
	t.failed = nil
	t.mu.Unlock()
	var errs []error
	for _, c := range failed {
		if err := c.collect(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// collect returns c's error, wrapped with its path, if nobody has claimed it,
// and claims it.
func (c *Thread) collect() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.claimLocked() || c.err == nil {
		return nil
	}
	return fmt.Errorf("thread %s: %w", c.path, c.err)
}

// claimLocked marks t's error as heard (t.mu is held) and reports whether it
// was not yet.
func (t *Thread) claimLocked() bool {
	if t.claimed {
		return false
	}
	t.claimed = true
	if t.unjoined != nil {
		t.unjoined.Stop()
		t.unjoined = nil
	}
	return true
}

// reportUnjoined logs t's error if nobody has claimed it by now, and takes it
// out of its owner's collection.
func (t *Thread) reportUnjoined() {
	t.mu.Lock()
	if !t.claimLocked() {
		t.mu.Unlock()
		return
	}
	err := t.err
	t.mu.Unlock()
	t.owner.dropFailed(t)
	t.Logger().Error("thread failed and nobody joined it", "err", err, "waited", t.unjoinedAfter)
}

// Join waits until the thread has stopped and returns its error, wrapped with
// the thread's path; the error of a panicking body is a *PanicError holding
// the panic value and stack. Children's errors that nobody claimed are
// joined into it. Join may be called any number of times.
func (t *Thread) Join() error {
	t.stopped.Wait()
	t.mu.Lock()
	newly := t.claimLocked()
	err := t.err
	t.mu.Unlock()
	if err == nil {
		return nil
	}
	if newly && t.owner != nil {
		t.owner.dropFailed(t)
	}
	return fmt.Errorf("thread %s: %w", t.path, err)
}

// ErrNotStopped is the error of JoinTill when its till fires before the
// thread has stopped.
var ErrNotStopped = errors.New("threads: thread has not stopped")

// JoinTill is Join bounded by till: the seed's join(till). If till fires
// before the thread has stopped, it returns an error wrapping ErrNotStopped
// (and the thread's error stays unclaimed: a later Join, or the parent, gets
// it). A nil till means no bound.
//
// The seed raises a timeout from join(till); in Go it is an error, like
// context.DeadlineExceeded, and the till can be any Signal (a Till, a stop
// request, or an Or of them), as for Signal.WaitTill.
func (t *Thread) JoinTill(till *signals.Signal) error {
	if !t.stopped.WaitTill(till) {
		return t.notStopped()
	}
	return t.Join()
}

func (t *Thread) notStopped() error {
	return fmt.Errorf("thread %s: %w", t.path, ErrNotStopped)
}

// Release says that nobody will join the thread: if it fails, its error is
// logged instead. The thread is still tracked and still stopped with its
// parent.
func (t *Thread) Release() {
	t.mu.Lock()
	t.released = true
	logIt := t.done && t.err != nil && t.claimLocked()
	t.mu.Unlock()
	if logIt {
		if t.owner != nil {
			t.owner.dropFailed(t)
		}
		t.Logger().Error("released thread failed", "err", t.err)
	}
}

// JoinChildren waits until every child of t has stopped, without asking any
// of them to stop, and returns the errors of those that failed and that
// nobody else claimed, joined, each wrapped with its path: errgroup's Wait
// for a thread's children. Children started while it waits are waited for
// too. Unlike Join, it does not wait for t itself.
//
// Trap: a child that calls JoinChildren on its own parent waits for itself
// forever.
func (t *Thread) JoinChildren() error {
	for {
		t.mu.Lock()
		kids := slices.Clone(t.children)
		t.mu.Unlock()
		if len(kids) == 0 {
			break
		}
		for _, c := range kids {
			c.stopped.Wait()
			t.dropChild(c)
		}
	}
	return errors.Join(t.collectFailed()...)
}
