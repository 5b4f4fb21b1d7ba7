package signals

import (
	"runtime"
	"sync"
	"sync/atomic"
	"weak"
)

// Or returns a Signal that fires as soon as any of sigs fires.
//
// Identities: Or of an already-fired Signal is already fired; Never and nil
// inputs are ignored; Or of nothing (or of only Never) is Never.
//
// The result is a new Signal even for a single input, so firing the result
// never fires an input. When the result fires, or is dropped without ever
// being observed (no Done, Wait, WaitTill or Then), its callbacks on the
// inputs are removed, so a loop building Or(till, stop) leaves nothing behind
// on stop.
func Or(sigs ...*Signal) *Signal {
	live := make([]*Signal, 0, len(sigs))
	for _, s := range sigs {
		switch {
		case s == nil || s.never:
			continue
		case s.Fired():
			return firedSignal()
		}
		live = append(live, s)
	}
	if len(live) == 0 {
		return Never()
	}
	return compose(live, func(l *link) { l.fire() })
}

// And returns a Signal that fires once all of sigs have fired.
//
// Identities: already-fired and nil inputs are ignored; And of nothing is
// already fired; And with a Never input is Never.
//
// Input callbacks are removed when the result fires or is dropped unobserved,
// as for Or.
func And(sigs ...*Signal) *Signal {
	live := make([]*Signal, 0, len(sigs))
	for _, s := range sigs {
		switch {
		case s == nil || s.Fired():
			continue
		case s.never:
			return Never()
		}
		live = append(live, s)
	}
	if len(live) == 0 {
		return firedSignal()
	}
	return compose(live, func(l *link) {
		if l.remaining.Add(-1) == 0 {
			l.fire()
		}
	})
}

// link ties a composite Signal to the callbacks it registered on its inputs.
//
// The inputs reach the composite only through the link, weakly at first: a
// composite that nobody holds can be collected, and its cleanup then removes
// the callbacks from the inputs. Once the composite is observed (Done, Then,
// ...), someone may be waiting on it without holding it (a goroutine blocked
// on its channel, a callback registered on it), so the link pins it with a
// strong reference until it fires, and the cleanup is cancelled: a cleanup's
// argument is a GC root, and it must never reach the composite, or neither
// would ever be collected.
type link struct {
	weak      weak.Pointer[Signal]
	strong    atomic.Pointer[Signal]
	remaining atomic.Int32 // And: inputs still pending

	mu       sync.Mutex
	detached bool
	regs     []registration
}

// registration is one callback a composite holds on one of its inputs.
type registration struct {
	input *Signal
	node  *callback
}

func (l *link) target() *Signal {
	if r := l.strong.Load(); r != nil {
		return r
	}
	return l.weak.Value()
}

// fire fires the composite, or, if it has been collected and its cleanup has
// not run yet, removes its now useless callbacks from the inputs.
func (l *link) fire() {
	if r := l.target(); r != nil {
		r.Go()
	} else {
		l.detach()
	}
}

// detach removes the composite's callbacks from its inputs. It is idempotent.
func (l *link) detach() {
	l.mu.Lock()
	l.detached = true
	regs := l.regs
	l.regs = nil
	l.mu.Unlock()
	for _, r := range regs {
		r.input.unlink(r.node)
	}
	l.strong.Store(nil)
}

func compose(inputs []*Signal, onInput func(*link)) *Signal {
	r := New()
	l := &link{weak: weak.Make(r)}
	l.remaining.Store(int32(len(inputs)))
	r.onFire = l.detach
	cleanup := runtime.AddCleanup(r, (*link).detach, l)
	r.pin = func() {
		l.mu.Lock()
		if !l.detached {
			l.strong.Store(r)
		}
		l.mu.Unlock()
		cleanup.Stop()
	}

	regs := make([]registration, 0, len(inputs))
	cb := func() { onInput(l) }
	for _, s := range inputs {
		if node := s.register(cb); node != nil {
			regs = append(regs, registration{s, node})
		}
	}
	l.mu.Lock()
	if !l.detached {
		l.regs = regs
		regs = nil
	}
	l.mu.Unlock()
	for _, r := range regs { // the composite fired while we registered
		r.input.unlink(r.node)
	}
	return r
}
