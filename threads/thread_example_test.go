package threads_test

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mothreads/mothreads/threads"
)

func ExampleGo() {
	root := threads.NewRoot("main", threads.Logger(slog.New(slog.DiscardHandler)))

	ticks := make(chan int)
	worker := threads.Go(root, "ticker", func(t *threads.Thread) error {
		for i := 1; ; i++ {
			select {
			case ticks <- i:
			case <-t.PleaseStop().Done():
				return nil
			}
		}
	})
	fmt.Println(<-ticks, <-ticks, <-ticks)

	root.Stop() // asks every thread of the tree to stop
	fmt.Println("root:", root.Join(), "worker stopped:", worker.Stopped().Fired())
	// Output:
	// 1 2 3
	// root: <nil> worker stopped: true
}

func ExampleThread_Join() {
	root := threads.NewRoot("main")
	defer root.Stop()

	failing := threads.Go(root, "loader", func(*threads.Thread) error {
		return errors.New("config not found")
	})
	fmt.Println(failing.Join())

	sum := threads.GoValue(root, "adder", func(*threads.Thread) (int, error) { return 2 + 3, nil })
	v, err := sum.Join()
	fmt.Println(v, err)
	// Output:
	// thread main/loader: config not found
	// 5 <nil>
}

func ExampleThread_Till() {
	root := threads.NewRoot("main")
	sleeper := threads.Go(root, "sleeper", func(t *threads.Thread) error {
		nap, _ := t.Till(time.Hour)
		nap.Wait() // fires early: the root is asked to stop below
		return nil
	})
	root.Stop()
	fmt.Println(sleeper.Join(), root.Join())
	// Output: <nil> <nil>
}
