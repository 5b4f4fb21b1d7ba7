//go:build unix

package threads_test

import (
	"log/slog"
	"strings"
	"syscall"
	"testing"

	"github.com/mothreads/mothreads/threads"
)

// TestMainOnSecondSignalHurriesInOrder: with OnSecondSignal, a second
// signal runs the hurry instead of forcing the tree, so a worker whose drain
// it cuts short is joined as usual and Main returns nil with nothing late.
func TestMainOnSecondSignalHurriesInOrder(t *testing.T) {
	hurried := make(chan struct{})
	ready := make(chan *threads.Thread, 1)
	done := make(chan error, 1)
	go func() {
		done <- threads.Main("main", func(root *threads.Thread) error {
			threads.Go(root, "draining", func(t *threads.Thread) error {
				t.PleaseStop().Wait()
				<-hurried // a drain that only the hurry ends
				return nil
			})
			ready <- root
			root.PleaseStop().Wait()
			return nil
		}, threads.Logger(slog.New(slog.DiscardHandler)), threads.OnSecondSignal(func() { close(hurried) }))
	}()
	root := <-ready
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	root.PleaseStop().Wait() // two pending signals would merge into one
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	if err := <-done; err != nil {
		t.Fatalf("Main = %v, want nil: the hurry let every thread stop", err)
	}
	if root.Forced().Fired() {
		t.Error("the second signal forced the tree")
	}
	if late := root.Late(); len(late) > 0 {
		t.Errorf("late threads %v after a hurried shutdown", late)
	}
}

// TestMainOnSecondSignalThirdForces: with OnSecondSignal, the third signal
// forces the shutdown: Main returns naming the thread the hurry did not end.
func TestMainOnSecondSignalThirdForces(t *testing.T) {
	second := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	ready := make(chan *threads.Thread, 1)
	done := make(chan error, 1)
	go func() {
		done <- threads.Main("main", func(root *threads.Thread) error {
			threads.Go(root, "stubborn", func(*threads.Thread) error {
				<-release
				return nil
			}) // default stop timeout: 10s, far longer than this test
			ready <- root
			root.PleaseStop().Wait()
			return nil
		}, threads.Logger(slog.New(slog.DiscardHandler)), threads.OnSecondSignal(func() { close(second) }))
	}()
	root := <-ready
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	root.PleaseStop().Wait()
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	<-second
	if root.Forced().Fired() {
		t.Error("the second signal forced the tree")
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "main/stubborn") {
		t.Fatalf("Main = %v, want an error naming main/stubborn", err)
	}
	if !root.Forced().Fired() {
		t.Error("the third signal did not force the tree")
	}
}
