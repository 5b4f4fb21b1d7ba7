package signals_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/mothreads/mothreads/signals"
)

// liveHeap returns the bytes of live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestBoundedWaitLeavesNothingOnStop is the pattern the package documents: wait
// for done, bounded by Or(stop, timeout), then release the timeout. The
// awaited event wins every time, so the composite never fires; once the wait
// is over it must not stay registered on the long-lived stop (issue 13, bug
// 1: it leaked one callback and ~650 B per wait).
func TestBoundedWaitLeavesNothingOnStop(t *testing.T) {
	stop := signals.New() // long-lived, like a thread's PleaseStop
	const n = 20_000
	waits := func() {
		for range n {
			done := signals.New()
			go done.Go()
			timeout, release := signals.After(time.Hour)
			done.WaitTill(signals.Or(stop, timeout))
			release()
		}
	}
	// The growth is measured between two equal rounds, so that whatever the
	// first round leaves for good (runtime structures, timer heaps) does not
	// count.
	waits()
	before := liveHeap()
	waits()
	after := liveHeap()
	if have := stop.NumCallbacks(); have != 0 {
		t.Errorf("stop holds %d callbacks after %d bounded waits, want 0", have, 2*n)
	}
	if grew := int64(after) - int64(before); grew > n*8 {
		t.Errorf("live heap grew by %d B over %d bounded waits (%d B each), want about 0", grew, n, grew/n)
	}
}

// TestWaitedCompositeReleasesWhenTheWaitEnds covers the receiver side and
// nesting: And(...).WaitTill(bound) and Or(Or(...), ...) waits that end
// without the composite firing leave nothing on their inputs.
func TestWaitedCompositeReleasesWhenTheWaitEnds(t *testing.T) {
	a, b, stop := signals.New(), signals.New(), signals.New()
	bound := signals.New()
	bound.Go()
	for range 100 {
		if signals.And(a, b).WaitTill(bound) {
			t.Fatal("And reported fired with a and b pending")
		}
		if signals.Or(signals.Or(a, stop), b).WaitTill(bound) {
			t.Fatal("nested Or reported fired with every input pending")
		}
	}
	for name, s := range map[string]*signals.Signal{"a": a, "b": b, "stop": stop} {
		if have := s.NumCallbacks(); have != 0 {
			t.Errorf("%s holds %d callbacks after the waits ended", name, have)
		}
	}
}

// TestThenStopReleasesComposite: a callback on a composite, stopped before
// the composite fired, releases the composite's registrations on its inputs.
func TestThenStopReleasesComposite(t *testing.T) {
	stop := signals.New()
	for range 100 {
		o := signals.Or(stop, signals.New())
		cancel := o.Then(func() { t.Error("callback ran") })
		if !cancel() {
			t.Fatal("stop returned false before the composite fired")
		}
	}
	if have := stop.NumCallbacks(); have != 0 {
		t.Fatalf("stop holds %d callbacks after every Then was stopped", have)
	}
}

// TestWatchReleases: a Watch is Done with a Release; once released, a
// composite that never fired is gone from its inputs, and a second Release
// is harmless.
func TestWatchReleases(t *testing.T) {
	stop := signals.New()
	o := signals.Or(stop, signals.New())
	w := o.Watch()
	w2 := o.Watch()
	if stop.NumCallbacks() != 1 {
		t.Fatalf("stop holds %d callbacks while watched, want 1", stop.NumCallbacks())
	}
	w.Release()
	w.Release() // harmless: counted once
	if stop.NumCallbacks() != 1 {
		t.Fatal("one Release dropped the other watcher's registration")
	}
	w2.Release()
	if have := stop.NumCallbacks(); have != 0 {
		t.Fatalf("stop holds %d callbacks after every watcher released", have)
	}
	if w.Done() != w2.Done() {
		t.Fatal("Watch returned two channels for one Signal")
	}
	// Watched again, it still works.
	w = o.Watch()
	defer w.Release()
	stop.Go()
	<-w.Done()
}

// TestLateSecondReleaseKeepsANewerWatch: a watcher that releases twice, the
// second time after somebody else started watching, must not drop the newer
// watcher's registration. (Release slots shared by bit once let the second
// release free the slot the newer watcher had been given: the composite left
// its inputs while watched, and its channel never closed.)
func TestLateSecondReleaseKeepsANewerWatch(t *testing.T) {
	stop := signals.New()
	o := signals.Or(stop, signals.New())
	first := o.Watch()
	first.Release()
	newer := o.Watch()
	defer newer.Release()
	first.Release()
	if have := stop.NumCallbacks(); have != 1 {
		t.Fatalf("stop holds %d callbacks while a watch is held, want 1", have)
	}
	stop.Go() // runs the composite's registration, which fires it, before returning
	select {
	case <-newer.Done():
	default:
		t.Fatal("the newer watch's channel did not close when its input fired")
	}
}

// TestZeroWatch: the zero Watch watches nothing and releases nothing.
func TestZeroWatch(t *testing.T) {
	var w signals.Watch
	if w.Done() != nil {
		t.Fatal("the zero Watch has a channel")
	}
	w.Release()
	never := signals.Never().Watch()
	if never.Done() != nil {
		t.Fatal("a Watch of Never has a channel")
	}
	never.Release()
}
