package signals_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mothreads/mothreads/signals"
)

func TestGoFiresOnce(t *testing.T) {
	var s signals.Signal // the zero value is usable
	if s.Fired() {
		t.Fatal("zero Signal has fired")
	}
	if !s.Go() {
		t.Fatal("first Go returned false")
	}
	if s.Go() {
		t.Fatal("second Go returned true")
	}
	if !s.Fired() {
		t.Fatal("Fired is false after Go")
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done is not closed after Go")
	}
	s.Wait() // must not block
}

func TestDoneBeforeAndAfterGo(t *testing.T) {
	s := signals.New()
	ch := s.Done()
	if ch != s.Done() {
		t.Fatal("Done returned different channels")
	}
	select {
	case <-ch:
		t.Fatal("Done closed before Go")
	default:
	}
	s.Go()
	<-ch
}

func TestConcurrentGoExactlyOneWins(t *testing.T) {
	s := signals.New()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if s.Go() {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if have := wins.Load(); have != 1 {
		t.Fatalf("Go returned true %d times, want 1", have)
	}
}

func TestWaitTill(t *testing.T) {
	s, till := signals.New(), signals.New()
	till.Go()
	if s.WaitTill(till) {
		t.Fatal("WaitTill reported s fired when only till fired")
	}
	s.Go()
	if !s.WaitTill(till) {
		t.Fatal("WaitTill reported till when s had fired too")
	}
	if !s.WaitTill(nil) {
		t.Fatal("WaitTill(nil) on fired s returned false")
	}

	u := signals.New()
	go u.Go()
	if !u.WaitTill(signals.Never()) {
		t.Fatal("WaitTill(Never) returned false")
	}
}

func TestThenRunsOnceInOrder(t *testing.T) {
	s := signals.New()
	var have []int
	for i := range 3 {
		s.Then(func() { have = append(have, i) })
	}
	if s.NumCallbacks() != 3 {
		t.Fatalf("NumCallbacks = %d, want 3", s.NumCallbacks())
	}
	s.Go()
	s.Go()
	if diff := cmp.Diff([]int{0, 1, 2}, have); diff != "" {
		t.Fatalf("callbacks (-want +have):\n%s", diff)
	}
	if s.NumCallbacks() != 0 {
		t.Fatalf("NumCallbacks = %d after Go, want 0", s.NumCallbacks())
	}
}

func TestThenOnFiredRunsAtOnce(t *testing.T) {
	s := signals.New()
	s.Go()
	ran := false
	stop := s.Then(func() { ran = true })
	if !ran {
		t.Fatal("Then on a fired Signal did not run f at once")
	}
	if stop() {
		t.Fatal("stop returned true for a callback that ran")
	}
}

func TestThenStop(t *testing.T) {
	s := signals.New()
	ran := false
	stop := s.Then(func() { ran = true })
	keep := 0
	s.Then(func() { keep++ })
	if !stop() {
		t.Fatal("first stop returned false")
	}
	if stop() {
		t.Fatal("second stop returned true")
	}
	if s.NumCallbacks() != 1 {
		t.Fatalf("NumCallbacks = %d, want 1", s.NumCallbacks())
	}
	s.Go()
	if ran || keep != 1 {
		t.Fatalf("ran=%v keep=%d, want false 1", ran, keep)
	}
}

func TestCallbackMayUseTheSignal(t *testing.T) {
	s := signals.New()
	inner := false
	s.Then(func() {
		s.Then(func() { inner = true }) // must not deadlock
		if s.Go() {
			t.Error("Go inside a callback returned true")
		}
	})
	s.Go()
	if !inner {
		t.Fatal("Then inside a callback did not run at once")
	}
}

func TestCallbackPanicIsReportedNotLost(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(prev)

	s := signals.New()
	after := false
	s.Then(func() { panic("boom") })
	s.Then(func() { after = true })
	if !s.Go() {
		t.Fatal("Go returned false")
	}
	if !after {
		t.Fatal("a callback after the panicking one did not run")
	}
	log := buf.String()
	for _, want := range []string{"callback panicked", "boom", "signal_test.go"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestNever(t *testing.T) {
	n := signals.Never()
	if n.Go() || n.Fired() {
		t.Fatal("Never fired")
	}
	if n.Done() != nil {
		t.Fatal("Never.Done is not nil")
	}
	stop := n.Then(func() { t.Error("callback on Never ran") })
	stop()
	if n.NumCallbacks() != 0 {
		t.Fatal("Never holds callbacks")
	}
}
