package signals

import (
	"context"
	"errors"
)

// ErrFired is the cancellation cause of a context cancelled by WithSignal
// because its Signal fired; context.Cause returns it.
var ErrFired = errors.New("signals: signal fired")

// FromContext returns a Signal that fires when ctx is done, and a stop
// function that releases the registration on ctx (stop reports whether it did
// so before the Signal fired). No goroutine runs until ctx is done.
//
// A context that can never be done (context.Background) gives Never; one that
// is already done gives a fired Signal.
//
// Trap: until ctx is done or stop is called, ctx keeps a reference to the
// Signal; call stop when the Signal is no longer needed, as with
// context.AfterFunc.
func FromContext(ctx context.Context) (*Signal, func() bool) {
	if ctx.Done() == nil {
		return Never(), func() bool { return false }
	}
	if ctx.Err() != nil {
		return firedSignal(), func() bool { return false }
	}
	s := New()
	stop := context.AfterFunc(ctx, func() { s.Go() })
	return s, stop
}

// WithSignal returns a copy of parent that is cancelled when s fires (with
// cause ErrFired), when parent is done, or when the returned cancel function
// is called, whichever happens first. It lets a Signal stand where a Context's
// cancellation is expected, without starting a goroutine.
//
// Calling cancel releases the callback registered on s; always call it, as
// with context.WithCancel.
func WithSignal(parent context.Context, s *Signal) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	if s == nil {
		return ctx, func() { cancel(context.Canceled) }
	}
	stop := s.Then(func() { cancel(ErrFired) })
	return ctx, func() {
		stop()
		cancel(context.Canceled)
	}
}
