package threads

import (
	"context"

	"github.com/mothreads/mothreads/signals"
)

// Context returns a context that is cancelled when the thread is asked to
// stop (its cause is signals.ErrFired), and at the latest when the thread
// finishes. Use it to hand the please-stop request to context-based APIs.
func (t *Thread) Context() context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx == nil {
		// No cancel to keep: please-stop fires when the thread finishes, which
		// cancels the context and releases its callback.
		t.ctx, _ = signals.WithSignal(context.Background(), &t.pleaseStop)
	}
	return t.ctx
}
