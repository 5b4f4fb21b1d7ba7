package signals_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/mothreads/mothreads/signals"
)

// TestCompositeUnwatchedIsDerived: a result nobody watches registers nothing
// on its inputs, and still reports Fired from them.
func TestCompositeUnwatchedIsDerived(t *testing.T) {
	a, b := signals.New(), signals.New()
	or, and := signals.Or(a, b), signals.And(a, b)
	if a.NumCallbacks()+b.NumCallbacks() != 0 {
		t.Fatal("an unwatched composite registered on its inputs")
	}
	a.Go()
	if !or.Fired() || and.Fired() {
		t.Fatalf("after a: Or fired %v (want true), And fired %v (want false)", or.Fired(), and.Fired())
	}
	ran := false
	or.Then(func() { ran = true }) // already decided: runs at once
	if !ran {
		t.Fatal("Then on a decided Or did not run at once")
	}
	b.Go()
	and.Wait() // decided while nobody watched: must not block
	if or.Go() || and.Go() {
		t.Fatal("Go on a composite that its inputs fired returned true")
	}
}

// TestAndReattachCountsOnlyItsOwnInputs watches an And, lets go, and watches
// it again around the firing of one input: the second attachment must still
// wait for the other input.
func TestAndReattachCountsOnlyItsOwnInputs(t *testing.T) {
	a, b := signals.New(), signals.New()
	all := signals.And(a, b)
	w := all.Watch()
	w.Release()
	a.Go()
	w = all.Watch()
	defer w.Release()
	select {
	case <-w.Done():
		t.Fatal("And fired with b pending")
	default:
	}
	if all.Fired() {
		t.Fatal("And reports fired with b pending")
	}
	b.Go()
	<-w.Done()
}

// TestCompositeStress fires inputs while watchers come and go, on every
// kind of watch, and checks the three promises each time: the result fires
// exactly when its inputs decide it, a watcher never misses it, and nothing
// stays registered on the inputs afterwards.
func TestCompositeStress(t *testing.T) {
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	for i := range iterations {
		all := i%2 == 1
		a, b, c := signals.New(), signals.New(), signals.New()
		inner := signals.Or(b, c)
		var s *signals.Signal
		if all {
			s = signals.And(a, inner)
		} else {
			s = signals.Or(a, inner)
		}
		fireA, fireB := rand.IntN(2) == 0, rand.IntN(2) == 0
		want := fireA || fireB
		if all {
			want = fireA && fireB
		}

		var wg sync.WaitGroup
		bound := signals.New()
		for w := range 4 {
			wg.Go(func() {
				switch w {
				case 0:
					for range 3 {
						s.WaitTill(bound)
					}
				case 1:
					w := s.Watch()
					select {
					case <-w.Done():
					case <-bound.Done():
					}
					w.Release()
				case 2:
					stop := s.Then(func() {})
					bound.Wait()
					stop()
				case 3:
					signals.Or(s, bound).Wait()
				}
			})
		}
		wg.Go(func() {
			if fireA {
				a.Go()
			}
			if fireB {
				b.Go()
			}
			bound.Go()
		})
		wg.Wait()

		if s.Fired() != want {
			t.Fatalf("iteration %d (And %v, a %v, b %v): Fired = %v, want %v", i, all, fireA, fireB, s.Fired(), want)
		}
		if want {
			s.Wait()
		} else if s.WaitTill(bound) {
			t.Fatalf("iteration %d: WaitTill reported an undecided composite fired", i)
		}
		if n := a.NumCallbacks() + b.NumCallbacks() + c.NumCallbacks() + inner.NumCallbacks(); n != 0 && want {
			t.Fatalf("iteration %d: %d callbacks left on the inputs of a fired composite", i, n)
		}
		if n := a.NumCallbacks() + b.NumCallbacks() + c.NumCallbacks(); n != 0 && !want {
			t.Fatalf("iteration %d: %d callbacks left on the inputs after every watcher left", i, n)
		}
	}
}

// TestWaitTillOnOr covers both ways WaitTill waits on an Or bound: on the
// inputs' own channels (one or two plain inputs) and through the
// composite (more inputs, or composite inputs); and a bound fired directly,
// not through its inputs.
func TestWaitTillOnOr(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4} {
		for _, nested := range []bool{false, true} {
			inputs := make([]*signals.Signal, n)
			for i := range inputs {
				inputs[i] = signals.New()
			}
			bound := signals.Or(inputs...)
			if nested {
				bound = signals.Or(bound, signals.New())
			}
			s := signals.New()
			go inputs[n-1].Go()
			if s.WaitTill(bound) {
				t.Errorf("%d inputs, nested %v: WaitTill reported s fired", n, nested)
			}
			if !bound.Fired() {
				t.Errorf("%d inputs, nested %v: WaitTill returned before the bound fired", n, nested)
			}
			s.Go()
			if !s.WaitTill(bound) {
				t.Errorf("%d inputs, nested %v: WaitTill on a fired s returned false", n, nested)
			}
			for i, in := range inputs {
				if in.NumCallbacks() != 0 {
					t.Errorf("%d inputs, nested %v: input %d holds %d callbacks", n, nested, i, in.NumCallbacks())
				}
			}
		}
	}
}

// TestWaitTillOnOrFiredDirectly: an Or fired by its own Go, not by an
// input, still ends a WaitTill it bounds, whichever way WaitTill waits.
func TestWaitTillOnOrFiredDirectly(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		inputs := make([]*signals.Signal, n)
		for i := range inputs {
			inputs[i] = signals.New()
		}
		bound := signals.Or(inputs...)
		go bound.Go()
		if signals.New().WaitTill(bound) {
			t.Errorf("%d inputs: WaitTill reported s fired", n)
		}
	}
}
