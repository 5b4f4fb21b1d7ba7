package threads_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mothreads/mothreads/threads"
)

// Each benchmark has a standard-library twin in the same run, so the figures
// compare as ratios on whatever machine runs them.

// benchCap is the bound of the queue and the buffer of the channel.
const benchCap = 1024

func BenchmarkQueueAddPop(b *testing.B) {
	q := threads.NewQueue[int](benchCap)
	b.ReportAllocs()
	for b.Loop() {
		q.Add(1, nil)
		q.Pop(nil)
	}
}

func BenchmarkChanSendRecv(b *testing.B) {
	ch := make(chan int, benchCap)
	b.ReportAllocs()
	for b.Loop() {
		ch <- 1
		<-ch
	}
}

// The producer/consumer pair measures throughput: one goroutine adds b.N
// items and closes, another takes them all.

func BenchmarkQueueProducerConsumer(b *testing.B) {
	q := threads.NewQueue[int](benchCap)
	done := make(chan int)
	b.ReportAllocs()
	go func() {
		n := 0
		for range q.All(nil) {
			n++
		}
		done <- n
	}()
	for i := range b.N {
		q.Add(i, nil)
	}
	q.Close()
	if n := <-done; n != b.N {
		b.Fatalf("consumer got %d items, want %d", n, b.N)
	}
}

func BenchmarkQueueProducerConsumerPopAll(b *testing.B) {
	q := threads.NewQueue[int](benchCap)
	done := make(chan int)
	b.ReportAllocs()
	go func() {
		n := 0
		for {
			n += len(q.PopAll())
			if _, r := q.Pop(nil); r != threads.Item { // block for more
				break
			}
			n++
		}
		done <- n
	}()
	for i := range b.N {
		q.Add(i, nil)
	}
	q.Close()
	if n := <-done; n != b.N {
		b.Fatalf("consumer got %d items, want %d", n, b.N)
	}
}

func BenchmarkChanProducerConsumer(b *testing.B) {
	ch := make(chan int, benchCap)
	done := make(chan int)
	b.ReportAllocs()
	go func() {
		n := 0
		for range ch {
			n++
		}
		done <- n
	}()
	for i := range b.N {
		ch <- i
	}
	close(ch)
	if n := <-done; n != b.N {
		b.Fatalf("consumer got %d items, want %d", n, b.N)
	}
}

func BenchmarkLockUnlock(b *testing.B) {
	var l threads.Lock
	b.ReportAllocs()
	for b.Loop() {
		l.Lock()
		l.Unlock()
	}
}

func BenchmarkMutexLockUnlock(b *testing.B) {
	var mu sync.Mutex
	b.ReportAllocs()
	for b.Loop() {
		mu.Lock()
		mu.Unlock()
	}
}

func BenchmarkLockUnlockParallel(b *testing.B) {
	var l threads.Lock
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Lock()
			l.Unlock()
		}
	})
}

func BenchmarkMutexLockUnlockParallel(b *testing.B) {
	var mu sync.Mutex
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			mu.Unlock()
		}
	})
}

// The ping-pong pair measures a wake-up: two goroutines take turns through a
// Lock's Wait, and through a sync.Cond, the standard library's monitor.

func BenchmarkLockWaitPingPong(b *testing.B) {
	var (
		l    threads.Lock
		turn int
		done = make(chan struct{})
	)
	b.ReportAllocs()
	player := func(me int) {
		l.Lock()
		for i := 0; i < b.N; i++ {
			for turn != me {
				l.Wait(nil)
			}
			turn = 1 - me
			l.Unlock() // wakes the other player
			l.Lock()
		}
		l.Unlock()
	}
	go func() { player(1); close(done) }()
	player(0)
	<-done
}

func BenchmarkMutexCondPingPong(b *testing.B) {
	var (
		mu   sync.Mutex
		cond = sync.NewCond(&mu)
		turn int
		done = make(chan struct{})
	)
	b.ReportAllocs()
	player := func(me int) {
		mu.Lock()
		for i := 0; i < b.N; i++ {
			for turn != me {
				cond.Wait()
			}
			turn = 1 - me
			cond.Signal()
		}
		mu.Unlock()
	}
	go func() { player(1); close(done) }()
	player(0)
	<-done
}

// BenchmarkLockVersusCond runs the ping-pong of a Lock and of a sync.Cond in
// alternating batches, with a long-lived partner goroutine each, and reports
// each one's cost per exchange and their ratio (lock/cond), so that the load
// of a shared machine hits both alike.
func BenchmarkLockVersusCond(b *testing.B) {
	lock, stopLock := lockPingPong()
	defer stopLock()
	cond, stopCond := condPingPong()
	defer stopCond()
	const batch = 64
	var tl, tc []float64
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		t0 := time.Now()
		lock(n)
		t1 := time.Now()
		cond(n)
		t2 := time.Now()
		tl = append(tl, float64(t1.Sub(t0).Nanoseconds())/float64(n))
		tc = append(tc, float64(t2.Sub(t1).Nanoseconds())/float64(n))
	}
	l, c := median(tl), median(tc)
	b.ReportMetric(l, "lock-ns/op")
	b.ReportMetric(c, "cond-ns/op")
	b.ReportMetric(l/c, "ratio")
}

// lockPingPong starts a partner that answers every turn given to it through
// a Lock; play(n) gives it n turns and waits for the last answer.
func lockPingPong() (play func(n int), stop func()) {
	var (
		l    threads.Lock
		turn int
		quit bool
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		l.Lock()
		defer l.Unlock()
		for {
			for turn != 1 && !quit {
				l.Wait(nil)
			}
			if quit {
				return
			}
			turn = 0
			l.Unlock() // wakes the player
			l.Lock()
		}
	}()
	play = func(n int) {
		l.Lock()
		for range n {
			for turn != 0 {
				l.Wait(nil)
			}
			turn = 1
			l.Unlock()
			l.Lock()
		}
		for turn != 0 {
			l.Wait(nil)
		}
		l.Unlock()
	}
	stop = func() {
		l.Lock()
		quit = true
		l.WakeAll()
		l.Unlock()
		<-done
	}
	return play, stop
}

// condPingPong is lockPingPong with a sync.Mutex and a sync.Cond.
func condPingPong() (play func(n int), stop func()) {
	var (
		mu   sync.Mutex
		cond = sync.NewCond(&mu)
		turn int
		quit bool
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		mu.Lock()
		defer mu.Unlock()
		for {
			for turn != 1 && !quit {
				cond.Wait()
			}
			if quit {
				return
			}
			turn = 0
			cond.Signal()
		}
	}()
	play = func(n int) {
		mu.Lock()
		for range n {
			for turn != 0 {
				cond.Wait()
			}
			turn = 1
			cond.Signal()
		}
		for turn != 0 {
			cond.Wait()
		}
		mu.Unlock()
	}
	stop = func() {
		mu.Lock()
		quit = true
		cond.Broadcast()
		mu.Unlock()
		<-done
	}
	return play, stop
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
