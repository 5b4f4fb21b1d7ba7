package threads_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// quiet is the logger of the examples: their output is what they print.
var quiet = threads.Logger(slog.New(slog.DiscardHandler))

// The seed's Thread.run("name", function): a named thread that works until
// it is asked to stop.
func ExampleGo() {
	root := threads.NewRoot("main", quiet)

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

// The seed's shutdown order: asking a thread to stop asks its children
// first, the last started first, and a thread stops only after its
// children have.
func ExampleNewRoot() {
	root := threads.NewRoot("main", quiet)
	var (
		mu    sync.Mutex
		asked []string
	)
	track := func(t *threads.Thread) {
		t.PleaseStop().Then(func() {
			mu.Lock()
			asked = append(asked, t.Path())
			mu.Unlock()
		})
	}
	worker := func(t *threads.Thread) error {
		t.PleaseStop().Wait()
		return nil
	}
	started := make(chan struct{})
	track(root)
	server := threads.Go(root, "server", func(t *threads.Thread) error {
		track(t)
		track(threads.Go(t, "call-1", worker))
		track(threads.Go(t, "call-2", worker))
		close(started)
		return worker(t)
	})
	<-started
	pool := threads.Go(root, "pool", worker)
	track(pool)

	root.Stop()
	fmt.Println("root:", root.Join())
	fmt.Println("server and pool stopped first:", server.Stopped().Fired() && pool.Stopped().Fired())
	for _, path := range asked { // each thread's children are asked before it
		fmt.Println("asked", path)
	}
	// Output:
	// root: <nil>
	// server and pool stopped first: true
	// asked main/pool
	// asked main/server/call-2
	// asked main/server/call-1
	// asked main/server
	// asked main
}

// The seed's join(), which returns the result or re-raises, and release(),
// which logs the failure instead.
func ExampleThread_Join() {
	root := threads.NewRoot("main", quiet)
	defer root.Stop()

	failing := threads.Go(root, "loader", func(*threads.Thread) error {
		return errors.New("config not found")
	})
	fmt.Println(failing.Join())

	sum := threads.GoValue(root, "adder", func(*threads.Thread) (int, error) { return 2 + 3, nil })
	v, err := sum.Join()
	fmt.Println(v, err)

	background := threads.Go(root, "cleanup", func(*threads.Thread) error { return nil })
	background.Release() // nobody joins it: a failure would be logged
	// Output:
	// thread main/loader: config not found
	// 5 <nil>
}

// The seed's join(till): give up waiting, not the thread.
func ExampleThread_JoinTill() {
	root := threads.NewRoot("main", quiet)
	slow := threads.Go(root, "slow", func(t *threads.Thread) error {
		t.PleaseStop().Wait()
		return nil
	})
	patience, release := signals.After(10 * time.Millisecond)
	defer release()
	err := slow.JoinTill(patience)
	fmt.Println(err, errors.Is(err, threads.ErrNotStopped))

	root.Stop()
	fmt.Println(slow.JoinTill(nil))
	// Output:
	// thread main/slow: threads: thread has not stopped true
	// <nil>
}

// errgroup's Go, SetLimit and Wait, on a thread's children: at most two
// downloads at once, and the parent waits for all of them without stopping
// them.
func ExampleThread_JoinChildren() {
	root := threads.NewRoot("main", quiet)
	defer root.Stop()
	fetch := threads.Go(root, "fetch", func(t *threads.Thread) error {
		t.SetLimit(2)
		var (
			mu    sync.Mutex
			total int
		)
		for _, size := range []int{3, 5, 7, 11} {
			threads.Go(t, fmt.Sprint("get-", size), func(*threads.Thread) error {
				if size == 11 {
					return errors.New("too big")
				}
				mu.Lock()
				total += size
				mu.Unlock()
				return nil
			})
		}
		err := t.JoinChildren()
		fmt.Println("fetched", total, "bytes;", err)
		return nil
	})
	fmt.Println(fetch.Join())
	// Output:
	// fetched 15 bytes; thread main/fetch/get-11: too big
	// <nil>
}

// The seed's Thread.current(): code that takes a context finds the thread it
// runs under.
func ExampleFromContext() {
	root := threads.NewRoot("main", quiet)
	defer root.Stop()
	handle := func(ctx context.Context) {
		if t, ok := threads.FromContext(ctx); ok {
			fmt.Println("handling on", t.Path())
		}
	}
	threads.Go(root, "server", func(t *threads.Thread) error {
		handle(t.Context())
		return nil
	}).Join()
	// Output: handling on main/server
}

// A sleeper wakes at once at shutdown: the tree's Tills fire early.
func ExampleThread_Till() {
	root := threads.NewRoot("main", quiet)
	sleeper := threads.Go(root, "sleeper", func(t *threads.Thread) error {
		nap, _ := t.Till(time.Hour)
		nap.Wait() // fires early: the root is asked to stop below
		return nil
	})
	root.Stop()
	fmt.Println(sleeper.Join(), root.Join())
	// Output: <nil> <nil>
}

// The seed's Lock example: a worker waits, with a bound, for something to do
// and does it; whoever adds work and unlocks wakes it. Here the main
// goroutine also waits on the same Lock, for the work to be done: the wake
// reaches each waiter, whatever it waits for.
func ExampleLock() {
	root := threads.NewRoot("main", quiet)
	var (
		lock threads.Lock
		todo []string
	)
	threads.Go(root, "worker", func(t *threads.Thread) error {
		for !t.PleaseStop().Fired() {
			lock.Lock()
			for len(todo) == 0 && !t.PleaseStop().Fired() {
				second, release := t.Till(time.Second) // fires early at shutdown
				lock.Wait(second)
				release()
			}
			for _, job := range todo { // DO SOME WORK
				fmt.Println("did", job)
			}
			todo = nil
			lock.Unlock()
		}
		return nil
	})

	lock.Lock()
	todo = append(todo, "sweep", "mop")
	for len(todo) > 0 {
		lock.Wait(nil) // releases the lock; the worker gets it
	}
	lock.Unlock()
	root.Stop()
	fmt.Println("root:", root.Join())
	// Output:
	// did sweep
	// did mop
	// root: <nil>
}

// A Queue between a producer thread and a consumer: items are passed as they
// are, and Close lets the consumer drain what was added before.
func ExampleQueue() {
	root := threads.NewRoot("main", quiet)
	var q threads.Queue[string] // unbounded
	threads.Go(root, "producer", func(*threads.Thread) error {
		for _, s := range []string{"a", "b", "c"} {
			q.Add(s, nil)
		}
		q.Close() // items already added are still delivered
		return nil
	})
	for s := range q.All(root.PleaseStop()) {
		fmt.Println(s)
	}
	_, r := q.Pop(nil)
	fmt.Println(r, q.Add("d", nil))
	root.Stop()
	fmt.Println("root:", root.Join())
	// Output:
	// a
	// b
	// c
	// Closed threads: queue closed
	// root: <nil>
}

func ExampleNewQueue() {
	q := threads.NewQueue[int](1)
	q.Add(1, nil)

	full, release := signals.After(10 * time.Millisecond)
	defer release()
	fmt.Println(q.Add(2, full)) // full: gives up when the till fires

	v, r := q.Pop(nil)
	fmt.Println(v, r, q.Len())
	// Output:
	// threads: queue add timed out
	// 1 Item 0
}
