package signals_test

import (
	"context"
	"slices"
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
		orOfTwo()
	}
}

func BenchmarkOrOfTwoWatched(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		orOfTwoWatched()
	}
}

func BenchmarkSelectOfTwo(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		selectOfTwo()
	}
}

// BenchmarkOrVersusSelect runs an Or of two and its select twin in
// alternating batches and reports each one's cost and their ratio
// (or/select), so that the load of a shared machine hits both alike.
// "decided": an input fires before anyone waits (the result fires at the
// first look, without registering); "watched": the result is registered on
// both inputs before one fires, then released; "bounded-wait": the shape
// this module uses, a wait for an event that another goroutine fires,
// bounded by Or(stop, deadline) of two long-lived Signals, against a select
// on three channels (both pay a goroutine start and a wake-up).
func BenchmarkOrVersusSelect(b *testing.B) {
	b.Run("decided", func(b *testing.B) { versus(b, orOfTwo, selectOfTwo) })
	b.Run("watched", func(b *testing.B) { versus(b, orOfTwoWatched, selectOfTwo) })
	b.Run("bounded-wait", func(b *testing.B) {
		stop, deadline := signals.New(), signals.New()
		stopCh, deadlineCh := make(chan struct{}), make(chan struct{})
		versus(b, func() {
			done := signals.New()
			go done.Go()
			if !done.WaitTill(signals.Or(stop, deadline)) {
				b.Fatal("bound fired")
			}
		}, func() {
			done := make(chan struct{})
			go close(done)
			select {
			case <-done:
			case <-stopCh:
				b.Fatal("stop fired")
			case <-deadlineCh:
				b.Fatal("deadline fired")
			}
		})
		if n := stop.NumCallbacks() + deadline.NumCallbacks(); n != 0 {
			b.Fatalf("%d callbacks left on the bounds", n)
		}
	})
}

func orOfTwo() {
	x, y := signals.New(), signals.New()
	either := signals.Or(x, y)
	y.Go()
	either.Wait()
}

func orOfTwoWatched() {
	x, y := signals.New(), signals.New()
	either := signals.Or(x, y)
	w := either.Watch()
	y.Go()
	<-w.Done()
	w.Release()
}

func selectOfTwo() {
	x, y := make(chan struct{}), make(chan struct{})
	close(y)
	select {
	case <-x:
	case <-y:
	}
}

// versus alternates small batches of mine and theirs, b.N operations each,
// and reports the median batch's ns/op of both and the ratio of the medians
// (mine/theirs). Medians of interleaved batches keep a shared machine's load
// spikes, which hit one batch at a time, out of the ratio.
func versus(b *testing.B, mine, theirs func()) {
	const batch = 64
	var tm, tt []float64
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		t0 := time.Now()
		for range n {
			mine()
		}
		t1 := time.Now()
		for range n {
			theirs()
		}
		t2 := time.Now()
		tm = append(tm, float64(t1.Sub(t0).Nanoseconds())/float64(n))
		tt = append(tt, float64(t2.Sub(t1).Nanoseconds())/float64(n))
	}
	m, t := median(tm), median(tt)
	b.ReportMetric(m, "mine-ns/op")
	b.ReportMetric(t, "std-ns/op")
	b.ReportMetric(m/t, "ratio")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
