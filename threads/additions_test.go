package threads_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

func TestJoinTill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := threads.NewRoot("root")
		defer stopJoin(t, root)
		proceed := make(chan struct{})
		failure := errors.New("failed")
		th := threads.Go(root, "slow", func(*threads.Thread) error { <-proceed; return failure })

		till, _ := signals.After(time.Second)
		start := time.Now()
		err := th.JoinTill(till)
		if !errors.Is(err, threads.ErrNotStopped) || !strings.Contains(err.Error(), "root/slow") {
			t.Fatalf("JoinTill before the thread stopped = %v, want ErrNotStopped naming it", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("JoinTill gave up after %v, want 1s", d)
		}
		close(proceed)
		if err := th.JoinTill(nil); !errors.Is(err, failure) {
			t.Fatalf("JoinTill(nil) = %v, want the thread's error", err)
		}

		task := threads.GoValue(root, "task", func(*threads.Thread) (int, error) { return 7, nil })
		never := signals.New()
		if v, err := task.JoinTill(never); v != 7 || err != nil {
			t.Fatalf("Task.JoinTill = %v, %v", v, err)
		}
		blocked := threads.GoValue(root, "blocked", func(t *threads.Thread) (int, error) {
			t.PleaseStop().Wait()
			return 1, nil
		})
		fired := signals.New()
		fired.Go()
		if v, err := blocked.JoinTill(fired); v != 0 || !errors.Is(err, threads.ErrNotStopped) {
			t.Fatalf("Task.JoinTill with a fired till = %v, %v", v, err)
		}
	})
}

// TestJoinTillLeavesTheErrorUnclaimed: a JoinTill that gave up did not hear
// the error, so the parent still gets it.
func TestJoinTillLeavesTheErrorUnclaimed(t *testing.T) {
	root := threads.NewRoot("root")
	proceed := make(chan struct{})
	failure := errors.New("failed")
	th := threads.Go(root, "slow", func(*threads.Thread) error { <-proceed; return failure })
	fired := signals.New()
	fired.Go()
	if err := th.JoinTill(fired); !errors.Is(err, threads.ErrNotStopped) {
		t.Fatal(err)
	}
	close(proceed)
	root.Stop()
	if err := root.Join(); !errors.Is(err, failure) {
		t.Fatalf("root.Join = %v, want the error JoinTill did not claim", err)
	}
}

func TestThreadInContext(t *testing.T) {
	root := threads.NewRoot("root")
	defer stopJoin(t, root)
	if _, ok := threads.FromContext(context.Background()); ok {
		t.Fatal("FromContext found a thread in Background")
	}
	var found atomic.Pointer[threads.Thread]
	worker := threads.Go(root, "worker", func(t *threads.Thread) error {
		// A library that takes a context finds the thread it runs under.
		if cur, ok := threads.FromContext(t.Context()); ok {
			found.Store(cur)
		}
		return nil
	})
	if err := worker.Join(); err != nil {
		t.Fatal(err)
	}
	if found.Load() != worker {
		t.Fatalf("FromContext(t.Context()) = %v, want %v", found.Load(), worker)
	}
	ctx := threads.NewContext(context.Background(), root)
	if cur, ok := threads.FromContext(ctx); !ok || cur != root {
		t.Fatalf("FromContext(NewContext(root)) = %v, %v", cur, ok)
	}
	if _, ok := threads.FromContext(threads.NewContext(context.Background(), nil)); ok {
		t.Fatal("FromContext reports a nil thread as found")
	}
}

// TestJoinChildren is errgroup's Wait: it waits for every child without
// asking any to stop, and returns the errors nobody claimed.
func TestJoinChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := threads.NewRoot("root")
		defer stopJoin(t, root)
		var finished atomic.Int32
		failure := errors.New("one failed")
		parent := threads.Go(root, "parent", func(p *threads.Thread) error {
			for i := range 5 {
				threads.Go(p, "worker", func(w *threads.Thread) error {
					time.Sleep(time.Duration(i) * time.Second) // work of different lengths
					if w.PleaseStop().Fired() {
						return errors.New("asked to stop")
					}
					finished.Add(1)
					if i == 3 {
						return failure
					}
					return nil
				})
			}
			err := p.JoinChildren()
			if n := finished.Load(); n != 5 {
				return errors.New("JoinChildren returned before every child finished")
			}
			if !errors.Is(err, failure) || !strings.Contains(err.Error(), "root/parent/worker") {
				return fmt.Errorf("JoinChildren lost the failure: %v", err)
			}
			if again := p.JoinChildren(); again != nil {
				return errors.New("a second JoinChildren returned claimed errors again")
			}
			return nil
		})
		if err := parent.Join(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSetLimit: no more than the limit of children run at once; Go waits for
// a slot, TryGo does not start without one, and a slot frees when a child
// has stopped.
func TestSetLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := threads.NewRoot("root")
		defer stopJoin(t, root)
		root.SetLimit(2)
		var running, most atomic.Int32
		body := func(*threads.Thread) error {
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Second)
			running.Add(-1)
			return nil
		}
		start := time.Now()
		var kids []*threads.Thread
		for range 6 {
			kids = append(kids, threads.Go(root, "limited", body))
		}
		if _, ok := threads.TryGo(root, "extra", body); ok {
			t.Error("TryGo started a child with every slot taken")
		}
		for _, k := range kids {
			k.Join()
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("6 one-second children, 2 at a time, took %v; want 3s", d)
		}
		if m := most.Load(); m != 2 {
			t.Errorf("at most %d ran at once, want 2", m)
		}
		th, ok := threads.TryGo(root, "fits", body)
		if !ok {
			t.Fatal("TryGo did not start a child with free slots")
		}
		th.Join()

		defer func() {
			if recover() == nil {
				t.Error("SetLimit while limited children run did not panic")
			}
		}()
		threads.Go(root, "busy", func(t *threads.Thread) error { t.PleaseStop().Wait(); return nil })
		root.SetLimit(5)
	})
}

// TestGoOnStoppedTreeDoesNotStart: when the whole tree has stopped, nobody
// can wait for a new child, so Go does not run it and says why.
func TestGoOnStoppedTreeDoesNotStart(t *testing.T) {
	var buf syncBuffer
	root := threads.NewRoot("root", threads.Logger(slog.New(slog.NewTextHandler(&buf, nil))))
	stopJoin(t, root)
	ran := false
	th := threads.Go(root, "late", func(*threads.Thread) error { ran = true; return nil })
	if err := th.Join(); !errors.Is(err, threads.ErrTreeStopped) {
		t.Fatalf("Join = %v, want ErrTreeStopped", err)
	}
	if ran || !th.PleaseStop().Fired() {
		t.Fatalf("body ran %v, please-stop fired %v", ran, th.PleaseStop().Fired())
	}
	child, unregister := root.Register("alien")
	if !child.PleaseStop().Fired() {
		t.Error("a goroutine registered on a stopped tree is not asked to stop")
	}
	unregister()
	child.Stopped().Wait()
	for _, want := range []string{"thread=root/late", "thread not started", "thread=root/alien"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestLogUnjoinedAfterOption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf syncBuffer
		root := threads.NewRoot("root", threads.Logger(slog.New(slog.NewTextHandler(&buf, nil))),
			threads.LogUnjoinedAfter(0)) // never: the parent collects
		lonely := errors.New("lonely")
		threads.Go(root, "kept", func(*threads.Thread) error { return lonely })
		threads.Go(root, "quick", func(*threads.Thread) error { return lonely }, threads.LogUnjoinedAfter(time.Second))
		time.Sleep(time.Hour)
		synctest.Wait()
		log := buf.String()
		if !strings.Contains(log, "thread=root/quick") || strings.Contains(log, "thread=root/kept") {
			t.Errorf("log after an hour:\n%s", log)
		}
		root.Stop()
		err := root.Join()
		if !strings.Contains(err.Error(), "root/kept") || strings.Contains(err.Error(), "root/quick") {
			t.Errorf("root.Join = %v, want only the kept failure", err)
		}
	})
}
