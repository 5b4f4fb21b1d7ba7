package driver

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWatchContextReason: a call cancelled through its caller's context
// gives the cause whoever cancelled gave, alone, and otherwise says that the
// caller's context ended and how.
func TestWatchContextReason(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel func(context.Context) (context.Context, func())
		want   string
	}{
		{"cancelled", func(ctx context.Context) (context.Context, func()) {
			ctx, cancel := context.WithCancel(ctx)
			return ctx, cancel
		}, "the caller's context ended: context canceled"},
		{"with a cause", func(ctx context.Context) (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(ctx)
			return ctx, func() { cancel(errors.New("the daemon is shutting down without drain")) }
		}, "the daemon is shutting down without drain"},
		{"deadline", func(ctx context.Context) (context.Context, func()) {
			ctx, cancel := context.WithDeadline(ctx, time.Now())
			return ctx, cancel
		}, "the caller's context ended: context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCall(1, &Request{}, time.Now(), 0, 0, nil)
			ctx, cancel := tc.cancel(context.Background())
			c.WatchContext(ctx)
			defer c.StopWatching()
			cancel()
			c.Cancelled().Wait()
			if got := c.CancelReason(); got != tc.want {
				t.Errorf("reason %q, want %q", got, tc.want)
			}
		})
	}
}
