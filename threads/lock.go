package threads

import (
	"sync"

	"github.com/mothreads/mothreads/signals"
)

// Lock is a monitor: a mutual-exclusion lock with a queue of goroutines
// waiting, while not holding it, to be told that something changed. It is the
// seed's Lock, with its rules:
//
//   - Wait always re-acquires the lock before it returns, whatever woke it, so
//     every line between Lock and Unlock runs with the lock held.
//   - Leaving the lock always wakes a waiting goroutine, so no wake-up is ever
//     missed: Unlock wakes the longest waiting, and so does Wait when it
//     releases the lock for a goroutine that came in with Lock.
//   - A wake is passed on: a woken goroutine that finds its condition still
//     false and waits again wakes the longest-waiting goroutine that has not
//     had this wake yet. So goroutines waiting for different conditions on
//     one Lock all get to look at every change: the seed's "every thread gets
//     an opportunity to react to possible change".
//
// The seed's Lock passes a wake on at every wait, so two waiters whose
// conditions do not hold wake each other forever; here each wake visits
// every waiter at most once and then stops, so the same two sleep until the
// next change.
//
// The zero value is an unlocked Lock with no waiters. A Lock must not be copied
// after first use.
//
// The usual shape re-checks the condition in a loop, because being woken says
// only that something may have changed:
//
//	lock.Lock()
//	for len(todo) == 0 {
//		if !lock.Wait(till) {
//			break // timed out, still holding the lock
//		}
//	}
//	// ... take from todo ...
//	lock.Unlock()
//
// Traps:
//   - A Lock is not reentrant: calling Lock again from the goroutine that
//     holds it deadlocks.
//   - Unlock, Wait and WakeAll must be called by the goroutine holding the
//     lock. Unlock or Wait on an unlocked Lock is a fatal runtime error (as
//     for sync.Mutex); any of them while another goroutine holds the lock is
//     not detected and breaks mutual exclusion (the race detector may report
//     it).
//   - Work done while holding the lock must not block (no I/O, no channel
//     operations, no Signal.Wait): every other goroutine, including the waiter
//     that Unlock is about to wake, waits for it. Firing a Signal while holding
//     the lock runs its callbacks under the lock; they must not block or take
//     the same Lock.
//   - A woken goroutine that changes the guarded state and then waits again
//     without unlocking only passes on the wake it got: waiters that already
//     had that wake do not look again. Unlock (or WakeAll) after a change
//     that others wait for; the usual shape above does.
type Lock struct {
	mu      sync.Mutex
	waiting sleepers
	round   uint64 // wakes started (by Unlock, WakeAll and a Wait after Lock)
	holder  uint64 // the round whose wake the holder got in its last Wait; 0 if none
}

// Lock acquires the lock, blocking until it is available. It is not
// reentrant.
func (l *Lock) Lock() { l.mu.Lock() }

// Unlock wakes the longest-waiting goroutine in Wait, if any, and releases the
// lock. The woken goroutine still has to re-acquire the lock, so another
// goroutine may get it first and change the state again.
func (l *Lock) Unlock() {
	l.round++
	l.waiting.wakeFirst(l.round)
	l.holder = 0
	l.mu.Unlock()
}

// Wait releases the lock, waits until it is woken or till fires, and
// re-acquires the lock before it returns, in every case. It reports whether
// it was woken (true) or timed out (false). A nil till means no bound; if
// till has already fired, Wait returns false at once without releasing the
// lock.
//
// Releasing the lock wakes another waiter, as Unlock does: if the caller came
// in with Lock (or its last Wait timed out), the longest waiting; if the
// caller was woken and waits again, the longest waiting that has not had
// that wake yet (see Lock).
//
// A wake is never lost: if till fires at the moment Wait is woken, Wait
// reports true, so the caller looks at the state the waker changed, or
// passes the wake on when it waits again.
//
// Trap: Wait must be called with the lock held; see Lock.
func (l *Lock) Wait(till *signals.Signal) (woken bool) {
	if till != nil && till.Fired() {
		return false
	}
	round := l.holder
	if round == 0 { // a release after Lock: a change, as for Unlock
		l.round++
		round = l.round
	}
	l.waiting.wakeFirst(round)
	s := l.waiting.park(l.holder)
	l.holder = 0
	l.mu.Unlock()
	s.sleep(till)
	l.mu.Lock()
	woken, l.holder = l.waiting.leave(s)
	return woken
}

// WakeAll wakes every goroutine waiting in Wait; they return (with woken
// true) one at a time, as each re-acquires the lock after the caller releases
// it. It must be called with the lock held.
func (l *Lock) WakeAll() {
	l.round++
	for l.waiting.wakeFirst(l.round) {
	}
}

// sleepers is a FIFO queue of parked goroutines, with a few spare sleepers to
// reuse. It is guarded by the mutex of its owner (a Lock or a Queue): every
// method must be called with it held.
type sleepers struct {
	head, tail *sleeper
	spare      *sleeper // reusable sleepers, linked through next
	spares     int
}

// maxSpares bounds the sleepers kept for reuse.
const maxSpares = 8

// sleeper is one parked goroutine. A wake is one token in its wake channel,
// sent, and woken set, under the owner's mutex, so that once the sleeper
// holds the mutex again, woken says for certain whether a wake was delivered
// to it.
type sleeper struct {
	wake       chan struct{} // buffered: one token
	prev, next *sleeper
	woken      bool
	round      uint64 // Lock: the last wake round it had (see Lock)
}

// park appends a sleeper that has had the wakes up to round, and returns it.
// The caller then releases the mutex and calls sleep.
func (q *sleepers) park(round uint64) *sleeper {
	s := q.spare
	if s != nil {
		q.spare, q.spares = s.next, q.spares-1
		s.next = nil
	} else {
		s = &sleeper{wake: make(chan struct{}, 1)}
	}
	s.woken, s.round, s.prev = false, round, q.tail
	if q.tail != nil {
		q.tail.next = s
	} else {
		q.head = s
	}
	q.tail = s
	return s
}

// sleep blocks until s is woken or till fires. It is called without the mutex.
func (s *sleeper) sleep(till *signals.Signal) {
	if till == nil {
		<-s.wake
		return
	}
	w := till.Watch()
	select {
	case <-s.wake:
	case <-w.Done():
	}
	w.Release()
}

// leave is called with the mutex held again after sleep: it removes s from the
// queue if nobody woke it, keeps s for reuse, and reports whether somebody
// woke it, and the round of that wake.
func (q *sleepers) leave(s *sleeper) (woken bool, round uint64) {
	if s.woken {
		select { // a wake that sleep did not take (till fired too)
		case <-s.wake:
		default:
		}
		woken, round = true, s.round
	} else {
		q.remove(s)
	}
	if q.spares < maxSpares {
		s.next, q.spare = q.spare, s
		q.spares++
	}
	return woken, round
}

// wakeFirst wakes the longest-waiting sleeper that has not had the wake of
// round (Queue, which has no rounds, passes ^uint64(0)) and reports whether
// there was one.
func (q *sleepers) wakeFirst(round uint64) bool {
	s := q.head
	for s != nil && s.round >= round {
		s = s.next
	}
	if s == nil {
		return false
	}
	q.remove(s)
	s.woken, s.round = true, round
	s.wake <- struct{}{}
	return true
}

// wakeOne wakes the longest-waiting sleeper and reports whether there was one.
func (q *sleepers) wakeOne() bool { return q.wakeFirst(^uint64(0)) }

// wakeAll wakes every sleeper.
func (q *sleepers) wakeAll() {
	for q.wakeOne() {
	}
}

func (q *sleepers) remove(s *sleeper) {
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		q.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		q.tail = s.prev
	}
	s.prev, s.next = nil, nil
}
