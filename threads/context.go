package threads

import (
	"context"

	"github.com/mothreads/mothreads/signals"
)

// threadKey is the context key of the current Thread.
type threadKey struct{}

// NewContext returns a copy of ctx that carries t as the current thread. It
// is how code that takes a context.Context (a gRPC handler, a library) finds
// the Thread it runs under, with FromContext.
//
// The seed finds the current thread with Thread.current(), through the
// thread's identity. Go gives goroutines no identity on purpose, so here the
// current thread travels the way request-scoped values do in Go: in the
// context.
func NewContext(ctx context.Context, t *Thread) context.Context {
	return context.WithValue(ctx, threadKey{}, t)
}

// FromContext returns the thread that ctx carries (see NewContext and
// Thread.Context), and whether it carries one.
func FromContext(ctx context.Context) (*Thread, bool) {
	t, ok := ctx.Value(threadKey{}).(*Thread)
	return t, ok && t != nil
}

// Context returns a context that carries t (see FromContext) and is cancelled
// when the thread is asked to stop (its cause is signals.ErrFired), and at
// the latest when the thread finishes. Use it to hand the please-stop request
// to context-based APIs.
func (t *Thread) Context() context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx == nil {
		// No cancel to keep: please-stop fires when the thread finishes, which
		// cancels the context and releases its callback.
		t.ctx, _ = signals.WithSignal(NewContext(context.Background(), t), &t.pleaseStop)
	}
	return t.ctx
}
