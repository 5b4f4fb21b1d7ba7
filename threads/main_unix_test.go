//go:build unix

package threads_test

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mothreads/mothreads/threads"
)

// notifyWriter signals on every write, so a test can wait for the stack dump
// without sleeping.
type notifyWriter struct {
	syncBuffer
	once  sync.Once
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	w.once.Do(func() { close(w.wrote) })
	return n, err
}

func TestMainOrderedShutdownOnSIGTERM(t *testing.T) {
	ready := make(chan struct{})
	var stoppedWorker bool
	done := make(chan error, 1)
	go func() {
		done <- threads.Main("main", func(root *threads.Thread) error {
			w := threads.Go(root, "worker", waitStop)
			close(ready)
			root.PleaseStop().Wait()
			w.Stopped().Wait()
			stoppedWorker = true
			return nil
		}, threads.Logger(slog.New(slog.DiscardHandler)))
	}()
	<-ready
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Main = %v, want nil after an ordered shutdown", err)
	}
	if !stoppedWorker {
		t.Fatal("the body did not see its worker stop")
	}
}

func TestMainSecondSignalForcesAndNamesTheStragglers(t *testing.T) {
	ready := make(chan *threads.Thread, 1)
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	dump := &notifyWriter{wrote: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- threads.Main("main", func(root *threads.Thread) error {
			threads.Go(root, "stubborn", func(*threads.Thread) error {
				close(started) // its pprof labels are set: the dump shows its path
				<-release
				return nil
			}) // default stop timeout: 10s, far longer than this test
			<-started
			ready <- root
			root.PleaseStop().Wait()
			return nil
		}, threads.Logger(slog.New(slog.DiscardHandler)), threads.DumpTo(dump))
	}()
	root := <-ready

	syscall.Kill(syscall.Getpid(), syscall.SIGUSR1)
	<-dump.wrote
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	root.PleaseStop().Wait() // two pending SIGINTs would merge into one
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "main/stubborn") {
		t.Fatalf("Main = %v, want an error naming main/stubborn", err)
	}
	if errors.Unwrap(err) == nil && !strings.Contains(err.Error(), "did not stop") {
		t.Fatalf("unexpected error shape: %v", err)
	}
	text := dump.String()
	for _, want := range []string{"live threads", "main/stubborn", `"thread":"main/stubborn"`} {
		if !strings.Contains(text, want) {
			t.Errorf("stack dump lacks %q", want)
		}
	}
}
