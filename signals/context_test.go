package signals_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mothreads/mothreads/signals"
)

func TestFromContext(t *testing.T) {
	if s, _ := signals.FromContext(context.Background()); s != signals.Never() {
		t.Error("FromContext(Background) is not Never")
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if s, _ := signals.FromContext(done); !s.Fired() {
		t.Error("FromContext(cancelled) has not fired")
	}

	ctx, cancel := context.WithCancel(context.Background())
	s, _ := signals.FromContext(ctx)
	if s.Fired() {
		t.Fatal("fired before cancel")
	}
	cancel()
	s.Wait()

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	s, stop := signals.FromContext(ctx)
	if !stop() {
		t.Fatal("stop returned false before ctx was done")
	}
	cancel()
	if s.Fired() {
		t.Fatal("Signal fired after stop")
	}
}

func TestWithSignal(t *testing.T) {
	s := signals.New()
	ctx, cancel := signals.WithSignal(context.Background(), s)
	defer cancel()
	if ctx.Err() != nil {
		t.Fatal("ctx done before the Signal fired")
	}
	s.Go()
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), signals.ErrFired) {
		t.Fatalf("cause = %v, want ErrFired", context.Cause(ctx))
	}
}

func TestWithSignalParentAndCancel(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	s := signals.New()
	ctx, cancel := signals.WithSignal(parent, s)
	defer cancel()
	cancelParent()
	<-ctx.Done()

	ctx, cancel = signals.WithSignal(context.Background(), s)
	if s.NumCallbacks() != 2 {
		t.Fatalf("NumCallbacks = %d, want 2", s.NumCallbacks())
	}
	cancel()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("cancel did not cancel ctx")
	}
	if s.NumCallbacks() != 1 {
		t.Fatalf("cancel left %d callbacks, want 1", s.NumCallbacks())
	}
}
