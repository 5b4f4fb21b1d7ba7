package threads_test

import (
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// TestLockUnlockWakesWaitersInOrder parks waiters one at a time: each new
// waiter's Wait wakes the one before it (a release after Lock is a change),
// whose Unlock wakes the next, so every Wait reports woken and the waiters
// leave in FIFO order. Without the wakes in Wait and Unlock the bubble
// deadlocks, which synctest reports as a failure.
func TestLockUnlockWakesWaitersInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10
		var (
			lock  threads.Lock
			order []int
			wg    sync.WaitGroup
		)
		for id := range n {
			wg.Go(func() {
				lock.Lock()
				defer lock.Unlock()
				if !lock.Wait(nil) {
					t.Errorf("waiter %d: Wait(nil) reported a timeout", id)
				}
				order = append(order, id)
			})
			synctest.Wait() // waiter id is parked before the next starts
		}
		lock.Lock()
		lock.Unlock()
		wg.Wait()

		want := make([]int, n)
		for i := range want {
			want[i] = i
		}
		if diff := cmp.Diff(want, order); diff != "" {
			t.Errorf("wake order (-want +have):\n%s", diff)
		}
	})
}

// TestLockWakeAll checks that WakeAll wakes every waiter: the first Wait of
// each must report woken, and all of them must leave once stop is set.
func TestLockWakeAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 5
		var (
			lock        threads.Lock
			woken, stop = 0, false
			wg          sync.WaitGroup
		)
		for range n {
			wg.Go(func() {
				lock.Lock()
				defer lock.Unlock()
				if lock.Wait(nil) {
					woken++
				}
				for !stop {
					lock.Wait(nil)
				}
			})
		}
		synctest.Wait()
		lock.Lock()
		lock.WakeAll()
		lock.Unlock()
		synctest.Wait()

		lock.Lock()
		if woken != n {
			t.Errorf("WakeAll woke %d of %d waiters", woken, n)
		}
		stop = true
		lock.WakeAll()
		lock.Unlock()
		wg.Wait()
	})
}

// TestLockWaitReacquires passes a turn between workers that wait on one Lock.
// Each worker touches unguarded state after every Wait; if Wait returned
// without the lock, two workers would be inside together (and -race reports
// the data race).
//
// It runs in a synctest bubble only so that a lost wake fails as a deadlock
// instead of hanging; the workers still run in parallel.
func TestLockWaitReacquires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, rounds = 4, 200
		var (
			lock         threads.Lock
			turn, inside int
			wg           sync.WaitGroup
		)
		for id := range workers {
			wg.Go(func() {
				for range rounds {
					lock.Lock()
					for turn%workers != id {
						lock.Wait(nil)
						inside++
						runtime.Gosched()
						if inside != 1 {
							t.Errorf("worker %d: %d goroutines inside the lock after Wait", id, inside)
						}
						inside--
					}
					turn++
					lock.WakeAll()
					lock.Unlock()
				}
			})
		}
		wg.Wait()
		if turn != workers*rounds {
			t.Errorf("turn = %d, want %d", turn, workers*rounds)
		}
	})
}

// TestLockWaitTimesOutHoldingLock checks that a Wait bounded by a Till
// returns false after exactly the Till's duration, still holding the lock.
func TestLockWaitTimesOutHoldingLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			lock   threads.Lock
			timers signals.Timers
			owner  string
		)
		till, _ := timers.Till(time.Second)
		start := time.Now()
		lock.Lock()
		if lock.Wait(till) {
			t.Error("Wait reported woken; nobody woke it")
		}
		if have := time.Since(start); have != time.Second {
			t.Errorf("Wait returned after %v, want 1s", have)
		}

		// If Wait had not re-acquired, the contender would get in while we
		// yield; if nobody held the lock, our Unlock would be a fatal error.
		owner = "waiter"
		got := make(chan struct{})
		go func() {
			lock.Lock()
			owner = "contender"
			lock.Unlock()
			close(got)
		}()
		for range 100 {
			runtime.Gosched()
		}
		if owner != "waiter" {
			t.Error("another goroutine took the lock while Wait's caller held it")
		}
		lock.Unlock()
		<-got

		lock.Lock()
		fired := signals.New()
		fired.Go()
		if lock.Wait(fired) {
			t.Error("Wait with a fired till reported woken")
		}
		lock.Unlock()
	})
}

// TestLockNoLostWake races a wake against the waiter's till, many times. W1
// waits with the till, W2 behind it without one; then W1 waits again. The
// waker's wake goes to W1 (which reports woken and passes it on when it
// waits again) or, if W1 timed out first, to W2; a W1 that timed out waits
// again as a newcomer, which wakes W2 too. Either way W2 must end up woken:
// a wake that W1 swallowed, reporting a timeout, would leave W2 asleep.
func TestLockNoLostWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iterations = 2000
		var woken1 int
		for i := range iterations {
			var (
				lock   threads.Lock
				till   = signals.New()
				w1, w2 bool
				wg     sync.WaitGroup
			)
			wg.Go(func() { // W1
				lock.Lock()
				defer lock.Unlock()
				w1 = lock.Wait(till)
				lock.Wait(nil)
			})
			synctest.Wait()
			wg.Go(func() { // W2
				lock.Lock()
				defer lock.Unlock()
				lock.Wait(nil)
				w2 = true
			})
			synctest.Wait()

			start := make(chan struct{})
			wg.Go(func() {
				<-start
				till.Go()
			})
			wg.Go(func() {
				<-start
				lock.Lock()
				lock.Unlock() // wakes W1, or W2 if W1 timed out and left
			})
			close(start)
			synctest.Wait()

			lock.Lock()
			if !w2 {
				t.Errorf("iteration %d: W2 still asleep (W1 reported woken: %v)", i, w1)
			}
			if w1 {
				woken1++
			}
			lock.WakeAll()
			lock.Unlock()
			wg.Wait()
			if t.Failed() {
				return
			}
		}
		t.Logf("W1 reported woken in %d of %d races", woken1, iterations)
	})
}

// TestLockWaitPassesTheWakeOn is the seed's promise that no wake is lost:
// two goroutines wait on one Lock for different conditions; the change made
// for the second one wakes the first (the longest waiting), which finds
// nothing for it and waits again, passing the wake on. Issue 13, bug 7: the
// wake stopped there and the second slept forever (a synctest deadlock).
func TestLockWaitPassesTheWakeOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			lock       threads.Lock
			x, y       bool
			wg         sync.WaitGroup
			gotX, gotY bool
		)
		wg.Go(func() { // A waits for x, first in line
			lock.Lock()
			defer lock.Unlock()
			for !x {
				lock.Wait(nil)
			}
			gotX = true
		})
		synctest.Wait()
		wg.Go(func() { // B waits for y
			lock.Lock()
			defer lock.Unlock()
			for !y {
				lock.Wait(nil)
			}
			gotY = true
		})
		synctest.Wait()
		lock.Lock()
		y = true
		lock.Unlock() // wakes A, which passes the wake to B
		synctest.Wait()
		lock.Lock()
		if !gotY {
			t.Error("B still waits with y == true")
		}
		x = true
		lock.Unlock()
		wg.Wait()
		if !gotX {
			t.Error("A never saw x")
		}
	})
}

// TestLockPassingOnEnds: passing wakes on must not turn into an endless
// exchange between waiters whose conditions do not hold (the seed's Lock
// does that). After one change, each waiter looks once, then all sleep.
func TestLockPassingOnEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const waiters = 4
		var (
			lock  threads.Lock
			looks [waiters]int
			stop  bool
			wg    sync.WaitGroup
		)
		for id := range waiters {
			wg.Go(func() {
				lock.Lock()
				defer lock.Unlock()
				for !stop && looks[id] < 100 { // bounded, so a ping-pong ends
					lock.Wait(nil)
					looks[id]++
				}
			})
			synctest.Wait()
		}
		// Every fresh Wait after the first woke the one before it once.
		lock.Lock()
		base := looks
		lock.Unlock() // one change
		synctest.Wait()
		lock.Lock()
		for id := range waiters {
			if n := looks[id] - base[id]; n != 1 {
				t.Errorf("waiter %d looked %d times after one Unlock, want 1 (looks %v, before %v)", id, n, looks, base)
			}
		}
		stop = true
		lock.WakeAll()
		lock.Unlock()
		wg.Wait()
	})
}
