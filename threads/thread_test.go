package threads_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// waitStop is the body of a well-behaved worker.
func waitStop(t *threads.Thread) error {
	t.PleaseStop().Wait()
	return nil
}

func stopJoin(t *testing.T, root *threads.Thread) {
	t.Helper()
	root.Stop()
	if err := root.Join(); err != nil {
		t.Fatalf("root.Join: %v", err)
	}
}

func TestBodyRunsOnceWhenPleaseStopAlreadySet(t *testing.T) {
	root := threads.NewRoot("root")
	// A child that has not stopped yet keeps the root stopping, not
	// stopped: a child started now still runs (on a root that has stopped,
	// it would not: TestGoOnStoppedTreeDoesNotStart).
	release := make(chan struct{})
	threads.Go(root, "holder", func(*threads.Thread) error { <-release; return nil })
	root.Stop()
	var runs atomic.Int32
	var sawStop atomic.Bool
	child := threads.Go(root, "late", func(t *threads.Thread) error {
		runs.Add(1)
		sawStop.Store(t.PleaseStop().Fired())
		return nil
	})
	if err := child.Join(); err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 1 || !sawStop.Load() {
		t.Fatalf("runs=%d sawStop=%v, want 1 true", runs.Load(), sawStop.Load())
	}
	close(release)
	if err := root.Join(); err != nil {
		t.Fatal(err)
	}
}

func TestChildErrorReachesJoinerWithPath(t *testing.T) {
	root := threads.NewRoot("root")
	defer stopJoin(t, root)
	boom := errors.New("boom")
	child := threads.Go(root, "worker", func(*threads.Thread) error { return boom })
	err := child.Join()
	if !errors.Is(err, boom) {
		t.Fatalf("Join = %v, want it to wrap boom", err)
	}
	if !strings.Contains(err.Error(), "root/worker") {
		t.Fatalf("Join error %q does not name the thread", err)
	}
	if again := child.Join(); again.Error() != err.Error() {
		t.Fatalf("second Join = %v, want %v", again, err)
	}
}

func TestChildPanicBecomesErrorWithValueAndStack(t *testing.T) {
	root := threads.NewRoot("root")
	defer stopJoin(t, root)
	child := threads.Go(root, "panicky", func(*threads.Thread) error { panic("kaboom") })
	err := child.Join()
	var p *threads.PanicError
	if !errors.As(err, &p) {
		t.Fatalf("Join = %v, want a *threads.PanicError", err)
	}
	if p.Value != "kaboom" {
		t.Errorf("panic value = %v", p.Value)
	}
	if !strings.Contains(string(p.Stack), "thread_test.go") {
		t.Errorf("stack does not show the panicking body:\n%s", p.Stack)
	}
	if !strings.Contains(err.Error(), "root/panicky") {
		t.Errorf("error %q does not name the thread", err)
	}
}

func TestGoValueJoinReturnsValue(t *testing.T) {
	root := threads.NewRoot("root")
	defer stopJoin(t, root)
	task := threads.GoValue(root, "answer", func(*threads.Thread) (int, error) { return 42, nil })
	v, err := task.Join()
	if v != 42 || err != nil {
		t.Fatalf("Join = %v, %v; want 42, nil", v, err)
	}
}

func TestHundredThreadsStartAndStop(t *testing.T) {
	root := threads.NewRoot("root")
	kids := make([]*threads.Thread, 100)
	for i := range kids {
		kids[i] = threads.Go(root, "worker", waitStop)
	}
	if n := len(root.Running()); n != 101 {
		t.Fatalf("Running has %d threads, want 101", n)
	}
	stopJoin(t, root)
	for _, k := range kids {
		if !k.Stopped().Fired() {
			t.Fatal("root stopped before a child")
		}
	}
	if r := root.Running(); len(r) != 0 {
		t.Fatalf("still running after stop: %v", r)
	}
}

func TestShutdownIsChildrenFirstInReverseStartOrder(t *testing.T) {
	root := threads.NewRoot("root")
	var mu sync.Mutex
	var asked, stopped []string
	record := func(list *[]string, th *threads.Thread) func() {
		return func() {
			mu.Lock()
			*list = append(*list, th.Path())
			mu.Unlock()
		}
	}
	track := func(th *threads.Thread) *threads.Thread {
		th.PleaseStop().Then(record(&asked, th))
		th.Stopped().Then(record(&stopped, th))
		return th
	}
	started := make(chan struct{})
	track(threads.Go(root, "a", func(t *threads.Thread) error {
		track(threads.Go(t, "a1", waitStop))
		track(threads.Go(t, "a2", waitStop))
		close(started)
		return waitStop(t)
	}))
	<-started
	track(threads.Go(root, "b", waitStop))
	track(root)
	stopJoin(t, root)
	mu.Lock()
	defer mu.Unlock()

	if diff := cmp.Diff([]string{"root/b", "root/a/a2", "root/a/a1", "root/a", "root"}, asked); diff != "" {
		t.Errorf("ask order (-want +have):\n%s", diff)
	}
	pos := map[string]int{}
	for i, p := range stopped {
		pos[p] = i
	}
	for _, pair := range [][2]string{{"root/a/a1", "root/a"}, {"root/a/a2", "root/a"}, {"root/a", "root"}, {"root/b", "root"}} {
		if pos[pair[0]] > pos[pair[1]] {
			t.Errorf("%s stopped after its parent %s (order %v)", pair[0], pair[1], stopped)
		}
	}
}

func TestStubbornChildIsBoundedAndReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := threads.NewRoot("root", threads.Logger(slog.New(slog.DiscardHandler)))
		release := make(chan struct{})
		threads.Go(root, "stubborn", func(*threads.Thread) error {
			<-release // ignores please-stop
			return nil
		}, threads.StopTimeout(5*time.Second))
		start := time.Now()
		root.Stop()
		if err := root.Join(); err != nil {
			t.Fatal(err)
		}
		if have := time.Since(start); have != 5*time.Second {
			t.Errorf("root stopped after %v, want the child's 5s deadline", have)
		}
		if diff := cmp.Diff([]string{"root/stubborn"}, root.Late()); diff != "" {
			t.Errorf("Late (-want +have):\n%s", diff)
		}
		close(release)
	})
}

func TestSleepingWorkerStopsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := threads.NewRoot("root")
		threads.Go(root, "sleeper", func(t *threads.Thread) error {
			for !t.PleaseStop().Fired() {
				nap, _ := t.Till(time.Hour)
				nap.Wait() // a Till alone: it fires early at shutdown
			}
			return nil
		})
		time.Sleep(time.Second)
		start := time.Now()
		stopJoin(t, root)
		if d := time.Since(start); d != 0 {
			t.Fatalf("sleeper took %v to stop", d)
		}
	})
}

func TestUnclaimedChildErrorPassesToParent(t *testing.T) {
	root := threads.NewRoot("root")
	lost := errors.New("nobody joined me")
	seen := errors.New("joined")
	parent := threads.Go(root, "parent", func(t *threads.Thread) error {
		threads.Go(t, "lost", func(*threads.Thread) error { return lost })
		j := threads.Go(t, "seen", func(*threads.Thread) error { return seen })
		if err := j.Join(); !errors.Is(err, seen) {
			return err
		}
		return nil
	})
	err := parent.Join()
	if !errors.Is(err, lost) || errors.Is(err, seen) {
		t.Fatalf("parent.Join = %v; want the unjoined error only", err)
	}
	stopJoin(t, root)
}

func TestReleasedFailureIsLogged(t *testing.T) {
	var buf syncBuffer
	root := threads.NewRoot("root", threads.Logger(slog.New(slog.NewTextHandler(&buf, nil))))
	proceed := make(chan struct{})
	child := threads.Go(root, "fire-and-forget", func(*threads.Thread) error {
		<-proceed
		return errors.New("went wrong")
	})
	child.Release()
	close(proceed)
	child.Stopped().Wait()
	stopJoin(t, root) // the error was logged, not passed up
	log := buf.String()
	for _, want := range []string{"released thread failed", "went wrong", "thread=root/fire-and-forget"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestRegisterMakesShutdownWait(t *testing.T) {
	root := threads.NewRoot("root")
	child, unregister := root.Register("alien")
	if child.Path() != "root/alien" {
		t.Fatalf("Path = %q", child.Path())
	}
	root.Stop()
	child.PleaseStop().Wait() // the alien goroutine is asked too
	if root.Stopped().Fired() {
		t.Fatal("root stopped while a registered goroutine was still inside")
	}
	unregister()
	unregister()
	if err := root.Join(); err != nil {
		t.Fatal(err)
	}
}

func TestContextCancelledOnStop(t *testing.T) {
	root := threads.NewRoot("root")
	worker := threads.Go(root, "worker", func(t *threads.Thread) error {
		<-t.Context().Done()
		if !errors.Is(context.Cause(t.Context()), signals.ErrFired) {
			return errors.New("wrong cause")
		}
		return nil
	})
	stopJoin(t, root)
	if err := worker.Join(); err != nil {
		t.Fatal(err)
	}
}

func TestLoggerCarriesThreadPath(t *testing.T) {
	var buf syncBuffer
	root := threads.NewRoot("main", threads.Logger(slog.New(slog.NewTextHandler(&buf, nil))))
	w := threads.Go(root, "pool", func(t *threads.Thread) error {
		t.Logger().Info("hello")
		return nil
	})
	w.Join()
	stopJoin(t, root)
	if !strings.Contains(buf.String(), "thread=main/pool") {
		t.Fatalf("log line lacks the thread path:\n%s", buf.String())
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
