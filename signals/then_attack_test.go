package signals_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/mothreads/mothreads/signals"
)

// TestThenStopRacingGo races Then's stop with the firing of the Signal, on
// a plain Signal and on an Or and an And of three: exactly one of "stop
// reported true" and "f ran" happens, and nothing stays registered.
func TestThenStopRacingGo(t *testing.T) {
	for i := range 3000 {
		a, b, c := signals.New(), signals.New(), signals.New()
		var s *signals.Signal
		switch i % 3 {
		case 0:
			s = a
		case 1:
			s = signals.Or(a, b, c)
		case 2:
			s = signals.And(a, signals.Or(b, c))
		}
		var ran atomic.Int32
		stop := s.Then(func() { ran.Add(1) })
		var stopped bool
		var wg sync.WaitGroup
		wg.Go(func() { stopped = stop() })
		wg.Go(func() { a.Go(); c.Go() })
		wg.Wait()
		if stopped == (ran.Load() == 1) || ran.Load() > 1 {
			t.Fatalf("iteration %d: stop reported %v and f ran %d times", i, stopped, ran.Load())
		}
		if stop() {
			t.Fatalf("iteration %d: a second stop reported true", i)
		}
		if n := b.NumCallbacks(); n != 0 {
			t.Fatalf("iteration %d: %d callbacks left on the pending input", i, n)
		}
	}
}

// TestWaitTillTrueMeansCallbacksRan: WaitTill waits "as for Wait", so when it
// reports that s fired, s's callbacks have run, even when till fired too and
// s is still running them.
func TestWaitTillTrueMeansCallbacksRan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, till := signals.New(), signals.New()
		inCallback, finish := make(chan struct{}), make(chan struct{})
		var done atomic.Bool
		s.Then(func() {
			close(inCallback)
			<-finish
			done.Store(true)
		})
		go s.Go()
		<-inCallback
		till.Go()
		wrong := make(chan bool, 1)
		go func() {
			got := s.WaitTill(till)
			wrong <- got && !done.Load()
		}()
		synctest.Wait() // WaitTill has returned, or waits for the callback
		close(finish)
		if <-wrong {
			t.Fatal("WaitTill reported s fired while s's callbacks were still running")
		}
	})
}
