package signals_test

import (
	"fmt"
	"time"

	"github.com/mothreads/mothreads/signals"
)

// Worker is the seed's worker that signals when its work is done.
type Worker struct {
	IsDone *signals.Signal
}

func (w *Worker) DoWork() {
	// ... work ...
	w.IsDone.Go()
}

// The seed's Signal example: a worker signals when it is done; a callback
// attached with Then runs once, on Go, and a waiter wakes.
func ExampleSignal() {
	worker := &Worker{IsDone: signals.New()}
	worker.IsDone.Then(func() { fmt.Println("done") })

	go worker.DoWork() // some other goroutine does the work

	worker.IsDone.Wait()
	fmt.Println("worker thread is done")
	fmt.Println("second Go has no effect:", !worker.IsDone.Go())
	// Output:
	// done
	// worker thread is done
	// second Go has no effect: true
}

// The seed's worker(user_cancel | Till(seconds=360)): the worker works until
// either the user cancels or six minutes have passed.
func ExampleOr() {
	userCancel := signals.New()
	timeout, release := signals.After(360 * time.Second)
	defer release()

	worked := 0
	worker := func(pleaseStop *signals.Signal) {
		for !pleaseStop.Fired() {
			worked++ // DO WORK
			if worked == 3 {
				userCancel.Go() // the user gives up
			}
		}
	}
	worker(signals.Or(userCancel, timeout))
	fmt.Println("worked", worked, "times; timed out:", timeout.Fired())
	// Output: worked 3 times; timed out: false
}

// The seed's (workerA.stopped & workerB.stopped).wait().
func ExampleAnd() {
	stoppedA, stoppedB := signals.New(), signals.New()
	go func() { defer stoppedA.Go() /* ... work A ... */ }()
	go func() { defer stoppedB.Go() /* ... work B ... */ }()

	signals.And(stoppedA, stoppedB).Wait()
	fmt.Println("both threads are done")
	// Output: both threads are done
}

// The seed's Till(seconds=20).wait() and Till(till=date).wait(), and its
// warning: every Till fires early when the program is asked to shut down.
func ExampleTimers_Till() {
	var timers signals.Timers // one root per program (or per test)

	pause, _ := timers.Till(20 * time.Millisecond)
	pause.Wait()
	fmt.Println("twenty milliseconds later")

	at, _ := timers.At(time.Now().Add(10 * time.Millisecond))
	at.Wait()
	fmt.Println("at the given time")

	// At shutdown every pending Till fires at once, so sleepers wake up.
	long, _ := timers.Till(time.Hour)
	timers.Stop()
	fmt.Println("hour-long Till fired early:", long.Fired())
	// Output:
	// twenty milliseconds later
	// at the given time
	// hour-long Till fired early: true
}

// After is a plain timer that no shutdown fires early: the deadline of the
// shutdown itself.
func ExampleAfter() {
	var timers signals.Timers
	work, _ := timers.Till(time.Hour)
	drain, release := signals.After(time.Hour)
	defer release()

	timers.Stop() // the program is asked to stop
	fmt.Println("work Till fired:", work.Fired(), "drain deadline fired:", drain.Fired())
	// Output: work Till fired: true drain deadline fired: false
}

// A bounded wait in a select: Watch gives the channel, and its Release
// takes the Or off its long-lived inputs again.
func ExampleSignal_Watch() {
	pleaseStop := signals.New() // lives as long as the program
	timeout, release := signals.After(time.Hour)
	defer release()
	results := make(chan int, 1)
	results <- 42

	bound := signals.Or(pleaseStop, timeout).Watch()
	select {
	case r := <-results:
		fmt.Println("result", r)
	case <-bound.Done():
		fmt.Println("stopped or timed out")
	}
	bound.Release()
	fmt.Println("left on pleaseStop:", pleaseStop.NumCallbacks())
	// Output:
	// result 42
	// left on pleaseStop: 0
}
