package signals

import (
	"sync/atomic"
)

// Or returns a Signal that fires as soon as any of sigs fires: the seed's
// s | t, Promise.race.
//
// Identities: Or of an already-fired Signal is already fired; Never and nil
// inputs are ignored; Or of nothing (or of only Never) is Never. The result
// is a new Signal even for a single input, so firing the result never fires
// an input.
//
// The result is lazy: it registers on its inputs only while somebody watches
// it, and removes those registrations when it fires or when the last watcher
// lets go. Wait, WaitTill, a Watch's Release, and Then's stop all let go, so a
// loop that bounds each wait with Or(stop, timeout) leaves nothing behind on
// stop, whichever side wins; a result nobody watches costs its inputs
// nothing. Only Done keeps the result registered until it fires (see Done).
// WaitTill bounded by an Or of one or two Signals that are not composites
// registers nothing at all: it selects on their channels.
// This is where the Go shape parts from the seed's, whose Or registers at
// once and stays: Go programs build a bound per wait and drop it, as they
// do with select, and must not pay for that on a Signal that lives for the
// whole program.
//
// Fired of the result looks at the inputs, so it is right even while nobody
// watches; the result's own callbacks, channel and Go run when a watcher is
// there to see them, or at the first watch after the inputs decided it.
func Or(sigs ...*Signal) *Signal {
	n := 0
	for _, s := range sigs {
		switch {
		case s == nil || s.never:
			continue
		case s.Fired():
			return firedSignal()
		}
		n++
	}
	if n == 0 {
		return Never()
	}
	return newComposite(false, sigs, n)
}

// And returns a Signal that fires once all of sigs have fired: the seed's
// s & t, Promise.all.
//
// Identities: already-fired and nil inputs are ignored; And of nothing is
// already fired; And with a Never input is Never.
//
// The result registers on its inputs only while watched, as described for
// Or.
func And(sigs ...*Signal) *Signal {
	n := 0
	for _, s := range sigs {
		switch {
		case s == nil || s.Fired():
			continue
		case s.never:
			return Never()
		}
		n++
	}
	if n == 0 {
		return firedSignal()
	}
	return newComposite(true, sigs, n)
}

// composite is the state of an Or or And result: its inputs, and its
// registrations on them (an attachment), which exist only while the result
// has watchers. Each Watch, Wait, WaitTill or Then adds a watcher for as long
// as it needs the result to fire by itself; Done adds one for good. The first
// watcher attaches the result to its inputs, the last one to leave detaches
// it, and firing detaches it for good. The mutable fields are guarded by the
// result Signal's mu.
//
// The first attachment is allocated with the composite (first): a later one
// is allocated afresh, since nodes of a detached attachment may still run
// (see attachment) and must not count into a newer one.
type composite struct {
	all       bool // And; otherwise Or
	firstUsed bool
	watchers  int32
	inputs    []*Signal // immutable
	inline    [2]*Signal

	att   *attachment // current registrations, or nil
	first attachment
}

// compositeSignal allocates a result and its composite together.
type compositeSignal struct {
	s Signal
	c composite
}

func newComposite(all bool, sigs []*Signal, n int) *Signal {
	cs := new(compositeSignal)
	c := &cs.c
	c.all = all
	if n <= len(c.inline) {
		c.inputs = c.inline[:0:n]
	} else {
		c.inputs = make([]*Signal, 0, n)
	}
	for _, s := range sigs {
		if s != nil && !s.never && len(c.inputs) < n && !(all && s.Fired()) {
			c.inputs = append(c.inputs, s)
		}
	}
	cs.s.comp = c
	return &cs.s
}

// settled reports whether the inputs have decided the result.
func (c *composite) settled() bool {
	if c.all {
		for _, in := range c.inputs {
			if !in.Fired() {
				return false
			}
		}
		return true
	}
	for _, in := range c.inputs {
		if in.Fired() {
			return true
		}
	}
	return false
}

// orOfPlain returns the channels of the inputs of s if s is an Or of one or
// two Signals that are not composites themselves (nil for a missing one),
// and the channel of s itself, which closes if somebody fires s directly:
// waiting for any of them is waiting for s, without registering anything.
func (s *Signal) orOfPlain() (a, b, own chan struct{}, ok bool) {
	comp := s.comp
	if comp == nil || comp.all || len(comp.inputs) > 2 {
		return nil, nil, nil, false
	}
	for _, in := range comp.inputs {
		if in.comp != nil {
			return nil, nil, nil, false
		}
	}
	a = comp.inputs[0].channel()
	if len(comp.inputs) == 2 {
		b = comp.inputs[1].channel()
	}
	return a, b, s.channel(), true
}

// watch adds a watcher of the composite s and, if wantCh, returns s's
// channel; it reports whether it counted a watcher. If the inputs have
// already decided s, it fires s instead of attaching; otherwise the first
// watcher attaches s to its inputs. A watch of a fired s counts nothing, and
// unwatch then does nothing.
func (s *Signal) watch(wantCh bool) (ch chan struct{}, counted bool) {
	c := s.comp
	s.mu.Lock()
	if wantCh {
		ch = s.channelLocked()
	}
	if s.fired.Load() {
		s.mu.Unlock()
		return ch, false
	}
	c.watchers++
	if c.att != nil {
		s.mu.Unlock()
		return ch, true
	}
	if c.settled() {
		s.mu.Unlock()
		s.Go()
		return ch, false
	}
	a := &c.first
	if c.firstUsed {
		a = new(attachment)
	}
	c.firstUsed = true
	a.s = s
	a.remaining.Store(int32(len(c.inputs)))
	if len(c.inputs) <= len(a.inline) {
		a.nodes = a.inline[:len(c.inputs)]
	} else {
		a.nodes = make([]callback, len(c.inputs))
	}
	c.att = a
	s.mu.Unlock()
	a.attach()
	return ch, true
}

// unwatch drops a watcher of the composite s; the last one detaches s from
// its inputs.
func (s *Signal) unwatch() {
	if s.fired.Load() {
		return
	}
	c := s.comp
	s.mu.Lock()
	if s.fired.Load() || c.watchers == 0 {
		s.mu.Unlock()
		return
	}
	c.watchers--
	a := c.att
	if c.watchers > 0 || a == nil {
		s.mu.Unlock()
		return
	}
	c.att = nil
	s.mu.Unlock()
	a.detach()
}

// attachment is one period during which a composite is registered on its
// inputs: one callback node per input, and for an input that is itself a
// composite, one watcher of it.
//
// A node that an input's Go has already taken still runs after a detach.
// That is harmless: it runs only because its input really fired, and each
// attachment counts its own inputs (remaining), so a stale attachment never
// miscounts a newer one.
type attachment struct {
	s         *Signal      // the composite
	remaining atomic.Int32 // And: inputs not yet fired
	// state holds how many nodes, in order, attach has dealt with (each is
	// registered, or its input had fired), and the detached bit; attach and
	// detach meet on it without a lock.
	state  atomic.Int32
	nodes  []callback // nodes[i] is registered on c.inputs[i]
	inline [2]callback
}

const detachedBit = 1 << 30

// attach registers a node on every input, in order, and stops (undoing its
// last step) as soon as the attachment is detached, which firing does too.
func (a *attachment) attach() {
	for i, in := range a.s.comp.inputs {
		if a.state.Load()&detachedBit != 0 { // fired by an earlier input, or released
			return
		}
		if in.comp != nil {
			in.watch(false)
		}
		node := &a.nodes[i]
		node.att = a
		linked := in.link(node)
		if !a.state.CompareAndSwap(int32(i), int32(i+1)) { // detached meanwhile
			if linked {
				in.unlink(node)
			}
			if in.comp != nil {
				in.unwatch()
			}
			return
		}
		if !linked { // in has fired
			a.inputFired()
		}
	}
}

// detach removes every registration attach made. It is idempotent.
func (a *attachment) detach() {
	old := a.state.Or(detachedBit)
	if old&detachedBit != 0 {
		return
	}
	for i, in := range a.s.comp.inputs[:old] {
		in.unlink(&a.nodes[i])
		if in.comp != nil {
			in.unwatch()
		}
	}
}

// inputFired runs when one of the inputs fires.
func (a *attachment) inputFired() {
	if !a.s.comp.all || a.remaining.Add(-1) == 0 {
		a.s.Go()
	}
}
