package signals

import (
	"sync"
	"time"
)

// Timers is a root for Tills: Signals that fire after a duration or at a time.
// Stopping the root fires every pending Till at once, the seed's shutdown rule
// ("all Tills fire early when the program is asked to stop"), so that code
// sleeping on a Till wakes up and sees its stop Signal. The rule is scoped to
// one Timers value rather than to the process, so tests and libraries can have
// their own.
//
// The zero value is ready to use. A nil *Timers is also valid: its Tills are
// plain timers that no shutdown fires early, which After spells shorter.
//
// Each pending Till costs one runtime timer (time.AfterFunc) and one list
// entry; there is no polling goroutine.
//
// Trap: do not use a root's Tills for deadlines of the shutdown itself (a
// drain timeout, a join deadline): they fire the moment the root stops. Use a
// Timers of their own, or a nil *Timers, for those.
type Timers struct {
	mu      sync.Mutex
	stopped bool
	head    *till // pending Tills, most recent first
	n       int
}

type till struct {
	Signal
	root       *Timers
	timer      *time.Timer // set under root.mu (or before publication when root is nil)
	prev, next *till
	listed     bool // guarded by root.mu
}

// Till returns a Signal that fires after d, and a stop function that cancels
// it: stop releases the timer and reports whether it did so before the Till
// fired. Exactly one of the two happens, even when stop races with the
// Till's timer or with Stop of the root: if stop returns true the Till never
// fires, and if it returns false the Till has fired or is firing. Do not
// leave anyone waiting on a stopped Till alone.
//
// A d <= 0, or a root that has been stopped, gives a Signal that has already
// fired.
func (r *Timers) Till(d time.Duration) (*Signal, func() bool) {
	if d <= 0 {
		return firedSignal(), func() bool { return false }
	}
	t := &till{root: r}
	if r == nil {
		t.timer = time.AfterFunc(d, t.fire)
		return &t.Signal, t.stop
	}
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		t.Go()
		return &t.Signal, func() bool { return false }
	}
	t.next = r.head
	if r.head != nil {
		r.head.prev = t
	}
	r.head = t
	t.listed = true
	r.n++
	t.timer = time.AfterFunc(d, t.fire)
	r.mu.Unlock()
	return &t.Signal, t.stop
}

// At returns a Signal that fires at tm (at once if tm is not in the future),
// with a stop function as for Till.
func (r *Timers) At(tm time.Time) (*Signal, func() bool) {
	return r.Till(time.Until(tm))
}

// Stop fires every pending Till now, and makes every later Till fire at once.
// It returns how many Tills it fired early. Stopping twice is harmless.
func (r *Timers) Stop() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	r.stopped = true
	list := r.head
	r.head, r.n = nil, 0
	for t := list; t != nil; t = t.next {
		t.listed = false
		t.timer.Stop()
	}
	r.mu.Unlock()
	fired := 0
	for t := list; t != nil; {
		next := t.next
		t.prev, t.next = nil, nil
		if t.Go() {
			fired++
		}
		t = next
	}
	return fired
}

// Stopped reports whether Stop has been called.
func (r *Timers) Stopped() bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// Pending returns how many Tills are waiting to fire.
func (r *Timers) Pending() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// After returns a Signal that fires after d, and a stop function, as Till
// does, for a plain timer that no shutdown fires early: a deadline of the
// shutdown itself (a drain timeout, a join deadline), or a bound in code
// that has no tree. It is (*Timers)(nil).Till(d). A d <= 0 gives a Signal
// that has already fired.
func After(d time.Duration) (*Signal, func() bool) {
	return (*Timers)(nil).Till(d)
}

// Whoever takes a rooted Till off its root's list (its timer, its stop
// function, or the root's Stop), under the root's lock, decides its fate:
// the timer and Stop fire it, stop cancels it. An unrooted Till has no list;
// time.Timer.Stop decides between its timer and its stop function.

func (t *till) fire() {
	if r := t.root; r != nil {
		r.mu.Lock()
		listed := t.listed
		if listed {
			r.unlist(t)
		}
		r.mu.Unlock()
		if !listed { // stopped, or fired by the root's Stop
			return
		}
	}
	t.Go()
}

func (t *till) stop() bool {
	r := t.root
	if r == nil {
		return t.timer.Stop()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !t.listed {
		return false
	}
	r.unlist(t)
	t.timer.Stop()
	return true
}

// unlist removes t from the list; r.mu is held and t is listed.
func (r *Timers) unlist(t *till) {
	t.listed = false
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		r.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	}
	t.prev, t.next = nil, nil
	r.n--
}
