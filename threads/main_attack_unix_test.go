//go:build unix

package threads_test

import (
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// TestMainSecondSignalReturnsWhileTheBodyWaits: Main promises that a second
// signal makes it return promptly, naming the threads still running. A root
// body that waits for its own worker after the first signal (as the ordered
// shutdown example does) must not hold Main beyond the root's stop timeout
// when that worker does not stop.
func TestMainSecondSignalReturnsWhileTheBodyWaits(t *testing.T) {
	ready := make(chan *threads.Thread, 1)
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- threads.Main("main", func(root *threads.Thread) error {
			w := threads.Go(root, "stubborn", func(*threads.Thread) error {
				<-release
				return nil
			})
			ready <- root
			root.PleaseStop().Wait()
			w.Stopped().Wait() // the body waits for its worker, ignoring Forced
			return nil
		}, threads.Logger(slog.New(slog.DiscardHandler)), threads.StopTimeout(50*time.Millisecond))
	}()
	root := <-ready
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	root.PleaseStop().Wait()
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	root.Forced().Wait()

	// The bound only decides how long a failing run takes.
	bound, stop := signals.After(10 * time.Second)
	defer stop()
	var err error
	select {
	case err = <-done:
	case <-bound.Done():
		close(release)
		<-done
		t.Fatal("Main did not return after the second signal while its body waited for a stubborn worker")
	}
	close(release)
	if err == nil || !strings.Contains(err.Error(), "main/stubborn") {
		t.Fatalf("Main = %v, want an error naming main/stubborn", err)
	}
}

// TestMainSecondSignalLetsTheBodyFinishItsShutdown: a body that gives up on
// Forced still finishes its own shutdown (mothreadsd removes its socket
// there, C11) before Main returns; Main must wait for it, as a parent waits
// for a child, rather than return while it runs (it did, and the daemon
// left its socket file behind on a second SIGTERM).
func TestMainSecondSignalLetsTheBodyFinishItsShutdown(t *testing.T) {
	ready := make(chan *threads.Thread, 1)
	cleaning, cleanedUp := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	finished := false
	go func() {
		done <- threads.Main("main", func(root *threads.Thread) error {
			ready <- root
			root.Forced().Wait()
			close(cleaning)
			<-cleanedUp // the body's own forced shutdown, whatever it takes
			finished = true
			return nil
		}, threads.Logger(slog.New(slog.DiscardHandler)))
	}()
	root := <-ready
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	root.PleaseStop().Wait()
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	<-cleaning
	close(cleanedUp)
	if err := <-done; err != nil || !finished {
		t.Fatalf("Main = %v with the body finished %v, want nil after the body's shutdown", err, finished)
	}
}
