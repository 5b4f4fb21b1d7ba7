package signals_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mothreads/mothreads/signals"
)

// Each benchmark has a standard-library twin in the same run, so the figures
// compare as ratios on whatever machine runs them.

func BenchmarkTillCreateStop(b *testing.B) {
	var timers signals.Timers
	b.ReportAllocs()
	for b.Loop() {
		_, stop := timers.Till(time.Hour)
		stop()
	}
}

func BenchmarkContextWithTimeoutCancel(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, cancel := context.WithTimeout(ctx, time.Hour)
		cancel()
	}
}

func BenchmarkTillCreateStopParallel(b *testing.B) {
	var timers signals.Timers
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, stop := timers.Till(time.Hour)
			stop()
		}
	})
}

func BenchmarkContextWithTimeoutCancelParallel(b *testing.B) {
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, cancel := context.WithTimeout(ctx, time.Hour)
			cancel()
		}
	})
}

// The create+fire pair measures throughput, not latency: Tills are created in
// batches of 1000 with a 1µs duration and the batch is awaited, so the figure
// is the cost of one timer's life (create, fire, wake its waiter) with timer
// latency amortised, as it is in a daemon with many calls in flight.
const fireBatch = 1000

func BenchmarkTillCreateFire(b *testing.B) {
	var timers signals.Timers
	batch := make([]*signals.Signal, 0, fireBatch)
	b.ReportAllocs()
	for range b.N {
		till, _ := timers.Till(time.Microsecond)
		if batch = append(batch, till); len(batch) == fireBatch {
			for _, s := range batch {
				s.Wait()
			}
			batch = batch[:0]
		}
	}
}

func BenchmarkContextWithTimeoutFire(b *testing.B) {
	ctx := context.Background()
	batch := make([]context.Context, 0, fireBatch)
	cancels := make([]context.CancelFunc, 0, fireBatch)
	b.ReportAllocs()
	for range b.N {
		c, cancel := context.WithTimeout(ctx, time.Microsecond)
		batch, cancels = append(batch, c), append(cancels, cancel)
		if len(batch) == fireBatch {
			for i, c := range batch {
				<-c.Done()
				cancels[i]()
			}
			batch, cancels = batch[:0], cancels[:0]
		}
	}
}

const waiters = 1000

func BenchmarkSignalGo1000Waiters(b *testing.B) {
	for b.Loop() {
		s := signals.New()
		var wg sync.WaitGroup
		for range waiters {
			wg.Go(s.Wait)
		}
		s.Go()
		wg.Wait()
	}
}

func BenchmarkChannelClose1000Waiters(b *testing.B) {
	for b.Loop() {
		ch := make(chan struct{})
		var wg sync.WaitGroup
		for range waiters {
			wg.Go(func() { <-ch })
		}
		close(ch)
		wg.Wait()
	}
}

func BenchmarkOrOfTwo(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		x, y := signals.New(), signals.New()
		either := signals.Or(x, y)
		y.Go()
		either.Wait()
	}
}

func BenchmarkSelectOfTwo(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		x, y := make(chan struct{}), make(chan struct{})
		close(y)
		select {
		case <-x:
		case <-y:
		}
	}
}
