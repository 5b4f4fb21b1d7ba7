package signals

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Signal is a one-shot, irreversible event: it starts pending and fires once,
// when Go is first called. Any goroutine may fire it, wait for it, poll it, or
// attach callbacks to it.
//
// The zero value is a pending Signal ready to use. A Signal must not be copied
// after first use; pass *Signal.
//
// Compared with the seed's Python Signal, the Go shape differs in three ways:
// Done returns a channel so a Signal works in select statements; Then returns a
// stop function (like context.AfterFunc) so callbacks do not pile up on a
// long-lived Signal; and waiting with a bound is WaitTill, which reports which
// of the two fired instead of raising. The seed's name Go (Python's go()) is
// kept for firing, although it reads like the go statement: every caller in
// the module and the seed's readers know it by that name.
type Signal struct {
	fired atomic.Bool // set as Go starts
	done  atomic.Bool // set once Go has run the callbacks
	never bool        // immutable: the Signal returned by Never
	n     int32       // len of the callback list; guarded by mu
	comp  *composite  // immutable: the inputs of an Or or And result

	mu   sync.Mutex
	ch   chan struct{} // created on first Done; closed once done
	head *callback     // registered callbacks, in registration order; head.prev is the last
}

// callback is one registration on a Signal: a function to run, or a
// composite's attachment to tell that this input fired.
type callback struct {
	f   func()
	att *attachment
	// next is nil on the last node; prev is the last node on the first one,
	// so a node is in its Signal's list exactly when prev is not nil.
	prev, next *callback // guarded by the owning Signal's mu
}

func (c *callback) run() {
	if c.att != nil {
		c.att.inputFired()
		return
	}
	runCallback(c.f)
}

// never is the shared never-firing Signal. It is immutable: Go on it does
// nothing and it holds no callbacks.
var never = &Signal{never: true}

// New returns a pending Signal. It is equivalent to new(Signal).
func New() *Signal { return new(Signal) }

// Never returns a Signal that never fires. Go on it returns false and has no
// effect, Done returns a nil channel (which blocks forever in a select), and
// callbacks given to Then never run.
//
// Trap: Wait on Never blocks forever; bound it with WaitTill.
func Never() *Signal { return never }

// firedSignal returns a new Signal that has already fired.
func firedSignal() *Signal {
	s := new(Signal)
	s.fired.Store(true)
	s.done.Store(true)
	return s
}

// Go fires s: Fired reports true at once, every registered callback runs once,
// in registration order, on the calling goroutine, and then the Done channel
// closes and every waiter wakes. So a waiter that wakes knows the callbacks
// registered before Go have run. It returns true on the first call and false
// on every later call (and always for Never).
//
// A callback that panics is recovered and logged with slog.Default at error
// level, with its stack; the remaining callbacks still run and Go returns
// normally. Callbacks must not block: they delay whoever fired the Signal.
func (s *Signal) Go() bool {
	if s.never {
		return false
	}
	s.mu.Lock()
	if s.fired.Load() {
		s.mu.Unlock()
		return false
	}
	s.fired.Store(true)
	list := s.head
	s.head, s.n = nil, 0
	var att *attachment
	if s.comp != nil { // a composite never attaches again once fired
		att, s.comp.att = s.comp.att, nil
	}
	s.mu.Unlock()

	if att != nil {
		att.detach()
	}
	for c := list; c != nil; {
		next := c.next
		c.prev, c.next = nil, nil
		c.run()
		c = next
	}

	s.mu.Lock()
	s.done.Store(true)
	if s.ch != nil {
		close(s.ch)
	}
	s.mu.Unlock()
	return true
}

// Fired reports whether s has fired. It never blocks. For a result of Or or
// And it is true as soon as the inputs decide it, even if nobody watches the
// result and so its own Go has not run yet.
func (s *Signal) Fired() bool {
	if s.fired.Load() {
		return true
	}
	return s.comp != nil && s.comp.settled()
}

// Done returns a channel that is closed when s has fired and its callbacks have
// run. It returns nil for Never, so a select on it blocks forever, as with
// context.Background().Done().
//
// Trap: for a result of Or or And, Done registers the result on its inputs
// until it fires, since nobody can tell when the channel is no longer
// watched; on long-lived inputs use Watch, WaitTill or Wait, which release
// it.
func (s *Signal) Done() <-chan struct{} {
	if s.comp != nil {
		ch, _ := s.watch(true)
		return ch
	}
	return s.channel()
}

// Wait blocks until s has fired and its callbacks have run.
func (s *Signal) Wait() {
	if s.done.Load() {
		return
	}
	if s.comp != nil {
		s.watch(false) // fires s if its inputs have decided it
		if !s.done.Load() {
			<-s.channel()
		}
		s.unwatch()
		return
	}
	<-s.channel()
}

// WaitTill blocks until s or till fires (as for Wait), and reports whether s
// fired. When both have fired it returns true. A nil till means no bound.
//
// Either may be a result of Or or And: it is registered on its inputs only
// while WaitTill waits, so a bound such as Or(stop, timeout) leaves nothing
// behind on stop when the wait ends.
//
// Trap: as Wait, it must not be called from one of s's own callbacks: when
// till has fired and s is firing, it waits for s's callbacks to finish.
func (s *Signal) WaitTill(till *Signal) bool {
	if s.done.Load() {
		return true
	}
	if till == nil {
		s.Wait()
		return true
	}
	var sch, tch chan struct{}
	if s.comp != nil {
		sch, _ = s.watch(true)
		defer s.unwatch()
	} else {
		sch = s.channel()
	}
	if a, b, own, ok := till.orOfPlain(); ok {
		// Or(stop, timeout), the usual bound: wait on its inputs' own
		// channels, as a select would, and register nothing.
		select {
		case <-sch:
			return true
		case <-a:
		case <-b:
		case <-own:
		}
		return s.firedAfterTill()
	}
	if till.comp != nil {
		tch, _ = till.watch(true)
		defer till.unwatch()
	} else {
		tch = till.channel()
	}
	select {
	case <-sch:
		return true
	case <-tch:
		return s.firedAfterTill()
	}
}

// firedAfterTill is WaitTill's answer once till has fired: whether s has
// fired too, and if so, only once s's callbacks have run (they are running
// now, on the goroutine that fired s), so that true means what Wait's
// return means.
func (s *Signal) firedAfterTill() bool {
	if !s.Fired() {
		return false
	}
	s.Wait()
	return true
}

// Then arranges for f to run once when s fires; if s has already fired, f runs
// at once on the calling goroutine. It returns a stop function that
// unregisters f: stop returns true if it prevented f from running, and false
// if f has run, is running, is about to run (s is firing and runs its
// callbacks in order), or was already stopped.
//
// f runs on the goroutine that fires s and must not block; in particular it
// must not wait for s itself, which completes only after its callbacks. A
// panic in f is recovered and logged, as described for Go.
func (s *Signal) Then(f func()) (stop func() bool) {
	if s.comp == nil {
		return s.then(f)
	}
	s.watch(false)
	c := s.register(f)
	if c == nil { // s has fired and f has run
		return func() bool { return false }
	}
	return func() bool {
		if s.unlink(c) {
			s.unwatch()
			return true
		}
		return false
	}
}

// NumCallbacks returns how many callbacks are registered and waiting for s to
// fire. It is meant for tests and diagnostics: a number that only grows on a
// long-lived Signal is a leak.
func (s *Signal) NumCallbacks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.n)
}

// String describes the state of s for logs.
func (s *Signal) String() string {
	switch {
	case s.never:
		return "signal(never)"
	case s.Fired():
		return "signal(fired)"
	default:
		return "signal(pending)"
	}
}

// channel returns the channel that closes once s is done, creating it; nil
// for Never.
func (s *Signal) channel() chan struct{} {
	if s.never {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelLocked()
}

// channelLocked is channel with s.mu held.
func (s *Signal) channelLocked() chan struct{} {
	if s.ch == nil {
		s.ch = make(chan struct{})
		if s.done.Load() {
			close(s.ch)
		}
	}
	return s.ch
}

// then registers f and returns its stop function.
func (s *Signal) then(f func()) func() bool {
	c := s.register(f)
	if c == nil {
		return func() bool { return s.never }
	}
	return func() bool { return s.unlink(c) }
}

// register adds f to the callback list and returns its node, or returns nil
// after running f at once (s has fired) or dropping it (s is Never).
func (s *Signal) register(f func()) *callback {
	if s.never {
		return nil
	}
	c := &callback{f: f}
	if !s.link(c) {
		runCallback(f)
		return nil
	}
	return c
}

// link appends c to the callback list, unless s has fired (or is Never): then
// it reports false and runs nothing.
func (s *Signal) link(c *callback) bool {
	if s.never {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fired.Load() {
		return false
	}
	if s.head == nil {
		c.prev, c.next = c, nil
		s.head = c
	} else {
		last := s.head.prev
		c.prev, c.next = last, nil
		last.next = c
		s.head.prev = c
	}
	s.n++
	return true
}

// unlink removes c from the callback list and reports whether it did so
// before s fired.
func (s *Signal) unlink(c *callback) bool {
	if s.fired.Load() { // its Go has taken, or is taking, the list
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fired.Load() || c.prev == nil { // not in the list
		return false
	}
	if c == s.head {
		s.head = c.next
	} else {
		c.prev.next = c.next
	}
	switch {
	case c.next != nil:
		c.next.prev = c.prev
	case s.head != nil: // c was the last node
		s.head.prev = c.prev
	}
	c.prev, c.next = nil, nil
	s.n--
	return true
}

func runCallback(f func()) {
	defer func() {
		if v := recover(); v != nil {
			slog.Default().Error("signals: callback panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	f()
}
