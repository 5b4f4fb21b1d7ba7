package threads

import (
	"sync"

	"github.com/mothreads/mothreads/signals"
)

// Lock is a monitor: a mutual-exclusion lock with a queue of goroutines
// waiting, while not holding it, to be told that something changed. It is the
// seed's Lock, with its two rules:
//
//   - Wait always re-acquires the lock before it returns, whatever woke it, so
//     every line between Lock and Unlock runs with the lock held.
//   - Unlock always wakes one waiting goroutine (the longest waiting), so no
//     wake-up is ever missed: whoever changes the guarded state and unlocks
//     gives a waiter the chance to look at it.
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
//   - All waiters share one FIFO queue. If goroutines wait for different
//     conditions on the same Lock, a wake may reach one whose condition still
//     does not hold; it waits again without passing the wake on. Call WakeAll
//     when a change matters to more than one kind of waiter, give waits a
//     bound, or use one Lock per condition.
type Lock struct {
	mu      sync.Mutex
	waiting sleepers
}

// Lock acquires the lock, blocking until it is available. It is not
// reentrant.
func (l *Lock) Lock() { l.mu.Lock() }

// Unlock wakes the longest-waiting goroutine in Wait, if any, and releases the
// lock. The woken goroutine still has to re-acquire the lock, so another
// goroutine may get it first and change the state again.
func (l *Lock) Unlock() {
	l.waiting.wakeOne()
	l.mu.Unlock()
}

// Wait releases the lock, waits until an Unlock or WakeAll wakes this
// goroutine or till fires, and re-acquires the lock before it returns, in
// every case. It reports whether it was woken (true) or timed out (false). A
// nil till means no bound; if till has already fired, Wait returns false at
// once without releasing the lock.
//
// A wake is never lost: if till fires at the moment Wait is woken, Wait
// reports true, so the caller looks at the state the waker changed.
//
// Releasing the lock in Wait does not wake another waiter (only Unlock and
// WakeAll do); otherwise two waiters whose conditions do not hold would wake
// each other forever.
//
// Trap: Wait must be called with the lock held; see Lock.
func (l *Lock) Wait(till *signals.Signal) (woken bool) {
	if till != nil && till.Fired() {
		return false
	}
	s := l.waiting.park()
	l.mu.Unlock()
	s.sleep(till)
	l.mu.Lock()
	return l.waiting.leave(s)
}

// WakeAll wakes every goroutine waiting in Wait; they return (with woken
// true) one at a time, as each re-acquires the lock after the caller releases
// it. It must be called with the lock held.
func (l *Lock) WakeAll() { l.waiting.wakeAll() }

// sleepers is a FIFO queue of parked goroutines. It is guarded by the mutex of
// its owner (a Lock or a Queue): every method must be called with it held.
type sleepers struct {
	head, tail *sleeper
}

// sleeper is one parked goroutine. Its wake channel is closed, and woken set,
// under the owner's mutex, so that once the sleeper holds the mutex again,
// woken says for certain whether a wake was delivered to it.
type sleeper struct {
	wake       chan struct{}
	prev, next *sleeper
	woken      bool
}

// park appends a new sleeper to the queue. The caller then releases the mutex
// and calls sleep.
func (q *sleepers) park() *sleeper {
	s := &sleeper{wake: make(chan struct{}), prev: q.tail}
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
	select {
	case <-s.wake:
	case <-till.Done():
	}
}

// leave is called with the mutex held again after sleep: it removes s from the
// queue if nobody woke it, and reports whether somebody did.
func (q *sleepers) leave(s *sleeper) bool {
	if !s.woken {
		q.remove(s)
	}
	return s.woken
}

// wakeOne wakes the longest-waiting sleeper and reports whether there was one.
func (q *sleepers) wakeOne() bool {
	s := q.head
	if s == nil {
		return false
	}
	q.remove(s)
	s.woken = true
	close(s.wake)
	return true
}

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
