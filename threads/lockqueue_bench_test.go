package threads_test

import (
	"sync"
	"testing"

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
