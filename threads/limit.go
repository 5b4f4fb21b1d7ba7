package threads

import "fmt"

// SetLimit limits the number of children of t started with Go, GoValue or
// TryGo that may run at once to n: Go and GoValue wait for a free slot
// first, and TryGo does not start a child when none is free. A child holds
// its slot until it has stopped. A negative n removes the limit; a limit of
// zero lets no child start (Go then waits for ever, TryGo reports false).
// Register is not limited.
//
// It is errgroup's SetLimit for a thread's children, and like it, it panics
// if limited children are running when the limit changes.
//
// Trap: a child that starts siblings under the same limit may wait for a
// slot that only its own end would free.
func (t *Thread) SetLimit(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.limit != nil && len(t.limit) != 0 {
		panic(fmt.Errorf("threads: SetLimit on %s while %d limited children are running", t.path, len(t.limit)))
	}
	if n < 0 {
		t.limit = nil
		return
	}
	t.limit = make(chan struct{}, n)
}

// TryGo starts fn as Go does, but only if parent's limit (SetLimit) has a
// free slot; it reports whether it started the child.
func TryGo(parent *Thread, name string, fn Func, opts ...Option) (*Thread, bool) {
	if fn == nil {
		panic("threads: TryGo with a nil Func")
	}
	slot := parent.limitSlots()
	if slot != nil {
		select {
		case slot <- struct{}{}:
		default:
			return nil, false
		}
	}
	return start(parent, name, opts, slot, func(t *Thread) (any, error) { return nil, fn(t) }), true
}

// acquireSlot waits for a free slot of t's limit and returns the limit's
// channel (to give the slot back), or nil if t has no limit.
func (t *Thread) acquireSlot() chan struct{} {
	slot := t.limitSlots()
	if slot != nil {
		slot <- struct{}{}
	}
	return slot
}

func (t *Thread) limitSlots() chan struct{} {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.limit
}
