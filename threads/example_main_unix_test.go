//go:build unix

package threads_test

import (
	"fmt"
	"syscall"

	"github.com/mothreads/mothreads/threads"
)

// The seed's start_main_thread and wait_for_shutdown_signal: Main runs the
// program's root until SIGINT or SIGTERM, then shuts the tree down in order.
// Here the program sends SIGTERM to itself, as `kill` would.
func ExampleMain() {
	err := threads.Main("main", func(t *threads.Thread) error {
		worker := threads.Go(t, "worker", func(w *threads.Thread) error {
			w.PleaseStop().Wait()
			fmt.Println("worker: asked to stop")
			return nil
		})
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		t.PleaseStop().Wait() // the program's work would be here
		worker.Stopped().Wait()
		fmt.Println("main: the worker has stopped")
		return nil
	}, quiet)
	fmt.Println("Main returned", err)
	// Output:
	// worker: asked to stop
	// main: the worker has stopped
	// Main returned <nil>
}
