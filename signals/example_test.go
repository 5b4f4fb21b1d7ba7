package signals_test

import (
	"fmt"
	"time"

	"github.com/mothreads/mothreads/signals"
)

func ExampleSignal() {
	done := signals.New()
	done.Then(func() { fmt.Println("callback: done") })

	go func() {
		// ... work ...
		done.Go()
	}()

	done.Wait()
	fmt.Println("fired:", done.Fired(), "second Go:", done.Go())
	// Output:
	// callback: done
	// fired: true second Go: false
}

func ExampleOr() {
	pleaseStop := signals.New()
	var timers signals.Timers
	timeout, release := timers.Till(time.Hour)
	defer release()

	pleaseStop.Go()
	if signals.Or(pleaseStop, timeout).Fired() {
		fmt.Println("stopping; timed out:", timeout.Fired())
	}
	// Output: stopping; timed out: false
}

func ExampleTimers_Till() {
	var timers signals.Timers // one root per program (or per test)
	tick, _ := timers.Till(10 * time.Millisecond)
	tick.Wait()
	fmt.Println("ten milliseconds later")

	// At shutdown every pending Till fires at once, so sleepers wake up.
	long, _ := timers.Till(time.Hour)
	timers.Stop()
	fmt.Println("hour-long Till fired early:", long.Fired())
	// Output:
	// ten milliseconds later
	// hour-long Till fired early: true
}
