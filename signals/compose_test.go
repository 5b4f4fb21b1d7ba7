package signals_test

import (
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mothreads/mothreads/signals"
)

func fired() *signals.Signal {
	s := signals.New()
	s.Go()
	return s
}

func TestOrIdentities(t *testing.T) {
	if signals.Or() != signals.Never() {
		t.Error("Or() is not Never")
	}
	if signals.Or(signals.Never(), nil) != signals.Never() {
		t.Error("Or(Never, nil) is not Never")
	}
	if !signals.Or(signals.New(), fired()).Fired() {
		t.Error("Or with a fired input has not fired")
	}
	a := signals.New()
	single := signals.Or(a)
	if single == a {
		t.Error("Or(a) returned a itself; firing it would fire a")
	}
	single.Go()
	if a.Fired() {
		t.Error("firing Or(a) fired a")
	}
}

func TestOrFiresOnAnyInputAndCleansUp(t *testing.T) {
	a, b := signals.New(), signals.New()
	o := signals.Or(a, b)
	o.Done() // observe it
	if o.Fired() {
		t.Fatal("Or fired before its inputs")
	}
	b.Go()
	if !o.Fired() {
		t.Fatal("Or did not fire when b fired")
	}
	if n := a.NumCallbacks(); n != 0 {
		t.Fatalf("a still holds %d callbacks after Or fired", n)
	}
}

func TestOrFiredDirectlyReleasesInputs(t *testing.T) {
	a := signals.New()
	o := signals.Or(a, signals.New())
	o.Go()
	if n := a.NumCallbacks(); n != 0 {
		t.Fatalf("a holds %d callbacks after the composite was fired directly", n)
	}
	if a.Fired() {
		t.Fatal("firing the composite fired an input")
	}
}

func TestAndIdentities(t *testing.T) {
	if !signals.And().Fired() {
		t.Error("And() has not fired")
	}
	if !signals.And(fired(), nil).Fired() {
		t.Error("And(fired, nil) has not fired")
	}
	if signals.And(signals.New(), signals.Never()) != signals.Never() {
		t.Error("And with a Never input is not Never")
	}
}

func TestAndFiresWhenAllHave(t *testing.T) {
	a, b, c := signals.New(), signals.New(), signals.New()
	all := signals.And(a, b, c)
	done := all.Done()
	a.Go()
	c.Go()
	select {
	case <-done:
		t.Fatal("And fired with b pending")
	default:
	}
	b.Go()
	<-done
	a.Go() // firing again must not double-count
	if b.NumCallbacks()+a.NumCallbacks()+c.NumCallbacks() != 0 {
		t.Fatal("inputs still hold callbacks after And fired")
	}
}

// TestOrLoopLeavesNoCallbacks is the million-iteration check: a loop
// that waits on Or(Till(1ms), stop) must not grow stop's callback list.
func TestOrLoopLeavesNoCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers signals.Timers
		stop := signals.New()
		const n, batch = 1_000_000, 10_000
		for i := 0; i < n; i += batch {
			for range batch {
				till, _ := timers.Till(time.Millisecond)
				signals.Or(till, stop)
			}
			time.Sleep(2 * time.Millisecond) // fake time: every Till fires
			synctest.Wait()
		}
		if have := stop.NumCallbacks(); have != 0 {
			t.Fatalf("stop holds %d callbacks after %d Ors", have, n)
		}
		if have := timers.Pending(); have != 0 {
			t.Fatalf("%d Tills still pending", have)
		}
	})
}

// TestWaitedOrLoopLeavesNoCallbacks covers the common shape: each iteration
// waits on the composite, so it is observed (pinned) and released on firing.
func TestWaitedOrLoopLeavesNoCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers signals.Timers
		stop := signals.New()
		for range 10_000 {
			till, _ := timers.Till(time.Millisecond)
			if signals.Or(till, stop).WaitTill(nil); stop.Fired() {
				t.Fatal("stop fired")
			}
		}
		if have := stop.NumCallbacks(); have != 0 {
			t.Fatalf("stop holds %d callbacks", have)
		}
	})
}

// gcUntil runs the collector until cond holds; cleanups run on a runtime
// goroutine after a collection, so a few rounds may be needed.
func gcUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for range 100 {
		runtime.GC()
		if cond() {
			return
		}
		runtime.Gosched()
	}
	t.Fatal("condition not reached after 100 collections")
}

func TestDroppedOrReleasesItsInputs(t *testing.T) {
	stop := signals.New()
	for range 1000 {
		signals.Or(signals.New(), stop) // never observed, never fired, dropped
	}
	gcUntil(t, func() bool { return stop.NumCallbacks() == 0 })
}

func TestObservedOrSurvivesBeingDropped(t *testing.T) {
	a := signals.New()
	done := signals.Or(a, signals.New()).Done() // only the channel is kept
	ran := make(chan struct{})
	signals.Or(a, signals.New()).Then(func() { close(ran) })
	for range 5 {
		runtime.GC()
	}
	a.Go()
	<-done
	<-ran
}

func TestNestedCompositesCollect(t *testing.T) {
	stop := signals.New()
	for range 100 {
		signals.Or(signals.And(signals.New(), stop), signals.New())
	}
	gcUntil(t, func() bool { return stop.NumCallbacks() == 0 })
}

// TestWatchedOrAllocations pins what a watched Or of two costs on top of its
// inputs: the result with its first registrations (one allocation) and its
// channel; a Watch is a value. The target, an Or within 2x
// of a select of two channels, rests on this count (BenchmarkOrVersusSelect
// measures the ratio): a new allocation per watch shows here first.
func TestWatchedOrAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	x, y := signals.New(), signals.New()
	got := testing.AllocsPerRun(1000, func() {
		either := signals.Or(x, y)
		w := either.Watch()
		w.Release()
		select {
		case <-w.Done():
			t.Fatal("Or fired with both inputs pending")
		default:
		}
	})
	if got > 2 {
		t.Errorf("a watched Or of two makes %v allocations, want at most 2 (result, channel)", got)
	}
	if n := x.NumCallbacks() + y.NumCallbacks(); n != 0 {
		t.Errorf("%d callbacks left on the inputs", n)
	}
}
