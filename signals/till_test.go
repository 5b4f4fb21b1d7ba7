package signals_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/mothreads/mothreads/signals"
)

func TestTillFiresAfterDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers signals.Timers
		start := time.Now()
		till, _ := timers.Till(3 * time.Second)
		if timers.Pending() != 1 {
			t.Fatalf("Pending = %d, want 1", timers.Pending())
		}
		till.Wait()
		if have := time.Since(start); have != 3*time.Second {
			t.Fatalf("fired after %v, want 3s", have)
		}
		synctest.Wait()
		if timers.Pending() != 0 {
			t.Fatalf("Pending = %d after firing, want 0", timers.Pending())
		}
	})
}

func TestTillAt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers signals.Timers
		at := time.Now().Add(time.Minute)
		till, _ := timers.At(at)
		till.Wait()
		if !time.Now().Equal(at) {
			t.Fatalf("fired at %v, want %v", time.Now(), at)
		}
		past, _ := timers.At(at.Add(-time.Hour))
		if !past.Fired() {
			t.Fatal("a Till in the past has not fired")
		}
	})
}

func TestTillStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers signals.Timers
		till, stop := timers.Till(time.Second)
		if !stop() {
			t.Fatal("stop returned false before firing")
		}
		if timers.Pending() != 0 {
			t.Fatal("stopped Till still pending")
		}
		time.Sleep(2 * time.Second)
		if till.Fired() {
			t.Fatal("stopped Till fired")
		}
		fired, stop := timers.Till(time.Second)
		fired.Wait()
		if stop() {
			t.Fatal("stop returned true after firing")
		}
	})
}

func TestTimersStopFiresPendingEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers signals.Timers
		start := time.Now()
		a, _ := timers.Till(time.Hour)
		b, _ := timers.Till(2 * time.Hour)
		released, stop := timers.Till(time.Hour)
		stop()
		if have := timers.Stop(); have != 2 {
			t.Fatalf("Stop fired %d Tills, want 2", have)
		}
		a.Wait()
		b.Wait()
		if time.Since(start) != 0 {
			t.Fatal("time passed before the early firing")
		}
		if released.Fired() {
			t.Fatal("Stop fired a released Till")
		}
		late, _ := timers.Till(time.Hour)
		if !late.Fired() {
			t.Fatal("a Till made after Stop has not fired at once")
		}
		if !timers.Stopped() || timers.Stop() != 0 {
			t.Fatal("second Stop misbehaved")
		}
	})
}

func TestNilTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers *signals.Timers
		till, _ := timers.Till(time.Second)
		if timers.Stop() != 0 || timers.Pending() != 0 || timers.Stopped() {
			t.Fatal("nil Timers reported state")
		}
		till.Wait()
		zero, _ := timers.Till(0)
		if !zero.Fired() {
			t.Fatal("Till(0) has not fired")
		}
	})
}

// TestSleepingWorkerStopsPromptly is the seed's "a sleeping worker stops
// promptly when asked": a worker sleeping on a long Till wakes at shutdown.
func TestSleepingWorkerStopsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers signals.Timers
		stopped := signals.New()
		start := time.Now()
		go func() {
			defer stopped.Go()
			for range 3 {
				till, _ := timers.Till(time.Hour)
				till.Wait()
			}
		}()
		time.Sleep(time.Second)
		timers.Stop()
		stopped.Wait()
		if have := time.Since(start); have != time.Second {
			t.Fatalf("worker stopped after %v, want 1s", have)
		}
	})
}

// TestAfter: After is a plain timer, the spelling of (*Timers)(nil).Till:
// it fires after d, no root's Stop fires it early, and its release works.
func TestAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers signals.Timers
		start := time.Now()
		plain, _ := signals.After(time.Minute)
		timers.Stop()
		if plain.Fired() {
			t.Fatal("a root's Stop fired an After")
		}
		plain.Wait()
		if d := time.Since(start); d != time.Minute {
			t.Fatalf("After(1m) fired after %v", d)
		}
		released, release := signals.After(time.Minute)
		if !release() || release() {
			t.Fatal("release: want true once, then false")
		}
		time.Sleep(2 * time.Minute)
		if released.Fired() {
			t.Fatal("a released After fired")
		}
		if now, _ := signals.After(0); !now.Fired() {
			t.Fatal("After(0) has not fired")
		}
	})
}
