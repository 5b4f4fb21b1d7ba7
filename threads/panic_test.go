package threads_test

import (
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"

	"github.com/mothreads/mothreads/threads"
)

func boom() { panic("kaboom") }

//go:noinline
func boomWith(v any) { panic(v) }

// TestPanicErrorShowsItsStack: a panicking body's error names the panic
// value and carries the stack in its text, so a released thread's log line
// and the error Main returns show where it happened. Issue 13, bug 6: the
// stack was only reachable with errors.As.
func TestPanicErrorShowsItsStack(t *testing.T) {
	var buf syncBuffer
	root := threads.NewRoot("root", threads.Logger(slog.New(slog.NewTextHandler(&buf, nil))))
	defer stopJoin(t, root)

	joined := threads.Go(root, "joined", func(*threads.Thread) error { boom(); return nil })
	err := joined.Join()
	text := err.Error()
	for _, want := range []string{"thread root/joined: panic: kaboom\n", "threads_test.boom(", "panic_test.go:"} {
		if !strings.Contains(text, want) {
			t.Errorf("Join error lacks %q:\n%s", want, text)
		}
	}
	if first, _, _ := strings.Cut(text, "\n"); first != "thread root/joined: panic: kaboom" {
		t.Errorf("first line %q: want the value alone, the stack below", first)
	}

	proceed := make(chan struct{})
	released := threads.Go(root, "released", func(*threads.Thread) error { <-proceed; boom(); return nil })
	released.Release()
	close(proceed)
	released.Stopped().Wait()
	log := buf.String()
	for _, want := range []string{"released thread failed", "panic: kaboom", "threads_test.boom("} {
		if !strings.Contains(log, want) {
			t.Errorf("the released thread's log lacks %q:\n%s", want, log)
		}
	}
	if n := strings.Count(strings.TrimSpace(log), "\n"); n != 0 {
		t.Errorf("the released failure took %d lines of log, want one:\n%s", n+1, log)
	}
}

// TestPanicErrorIsRecovered gives PanicError what sourcegraph/conc's
// panics.Recovered gives: the value, the callers and the stack, Unwrap of an
// error value, and AsError.
func TestPanicErrorIsRecovered(t *testing.T) {
	root := threads.NewRoot("root")
	defer stopJoin(t, root)
	cause := errors.New("cause")
	err := threads.Go(root, "p", func(*threads.Thread) error { boomWith(cause); return nil }).Join()
	var p *threads.PanicError
	if !errors.As(err, &p) {
		t.Fatalf("Join = %v, want a *threads.PanicError", err)
	}
	if p.Value != cause || !errors.Is(err, cause) {
		t.Errorf("Value %v; errors.Is(cause) %v", p.Value, errors.Is(err, cause))
	}
	if len(p.Callers) == 0 || len(p.Stack) == 0 {
		t.Fatalf("Callers has %d frames, Stack %d bytes", len(p.Callers), len(p.Stack))
	}
	if first, _ := runtime.CallersFrames(p.Callers).Next(); !strings.HasSuffix(first.Function, ".boomWith") {
		t.Errorf("Callers start at %s, want the function that panicked", first.Function)
	}
	if !strings.HasPrefix(string(p.Stack), "goroutine ") || !strings.Contains(strings.SplitN(string(p.Stack), "\n", 3)[1], "boomWith") {
		t.Errorf("Stack does not start at the function that panicked:\n%s", p.Stack)
	}
	if p.AsError() != error(p) {
		t.Error("AsError does not return the PanicError")
	}
	var none *threads.PanicError
	if none.AsError() != nil {
		t.Error("AsError of a nil *PanicError is not a nil error")
	}
	if (&threads.PanicError{Value: 3}).Unwrap() != nil {
		t.Error("Unwrap of a non-error value is not nil")
	}
}
