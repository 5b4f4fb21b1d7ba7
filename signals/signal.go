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
// of the two fired instead of raising.
type Signal struct {
	fired atomic.Bool // set as Go starts
	done  atomic.Bool // set once Go has run the callbacks
	never bool        // immutable: the Signal returned by Never

	mu     sync.Mutex
	ch     chan struct{} // created on first Done; closed once done
	head   *callback     // registered callbacks, in registration order
	tail   *callback
	n      int    // len of the callback list
	onFire func() // internal: run once, before the callbacks, when fired
	pin    func() // internal: composites; run once when first observed
}

type callback struct {
	f          func()
	prev, next *callback
	linked     bool // guarded by the owning Signal's mu
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

// fired returns a new Signal that has already fired.
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
	s.head, s.tail, s.n = nil, nil, 0
	onFire := s.onFire
	s.onFire, s.pin = nil, nil
	s.mu.Unlock()

	if onFire != nil {
		onFire()
	}
	for c := list; c != nil; {
		next := c.next
		c.prev, c.next = nil, nil
		runCallback(c.f)
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

// Fired reports whether s has fired. It never blocks.
func (s *Signal) Fired() bool { return s.fired.Load() }

// Done returns a channel that is closed when s has fired and its callbacks have
// run. It returns nil for Never, so a select on it blocks forever, as with
// context.Background().Done().
func (s *Signal) Done() <-chan struct{} {
	if s.never {
		return nil
	}
	s.mu.Lock()
	if s.ch == nil {
		s.ch = make(chan struct{})
		if s.done.Load() {
			close(s.ch)
		}
	}
	ch := s.ch
	pin := s.pin
	s.pin = nil
	s.mu.Unlock()
	if pin != nil {
		pin()
	}
	return ch
}

// Wait blocks until s has fired and its callbacks have run.
func (s *Signal) Wait() {
	if s.done.Load() {
		return
	}
	<-s.Done()
}

// WaitTill blocks until s or till fires (as for Wait), and reports whether s
// fired. When both have fired it returns true. A nil till means no bound.
func (s *Signal) WaitTill(till *Signal) bool {
	if s.done.Load() {
		return true
	}
	if till == nil {
		s.Wait()
		return true
	}
	select {
	case <-s.Done():
		return true
	case <-till.Done():
		return s.Fired()
	}
}

// Then arranges for f to run once when s fires; if s has already fired, f runs
// at once on the calling goroutine. It returns a stop function that
// unregisters f: stop returns true if it prevented f from running, and false
// if f has run, is running, or was already stopped.
//
// f runs on the goroutine that fires s and must not block; in particular it
// must not wait for s itself, which completes only after its callbacks. A
// panic in f is recovered and logged, as described for Go.
func (s *Signal) Then(f func()) (stop func() bool) {
	s.observe()
	return s.then(f)
}

// NumCallbacks returns how many callbacks are registered and waiting for s to
// fire. It is meant for tests and diagnostics: a number that only grows on a
// long-lived Signal is a leak.
func (s *Signal) NumCallbacks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
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

// then registers f without marking s as observed and returns its stop
// function.
func (s *Signal) then(f func()) func() bool {
	c := s.register(f)
	if c == nil {
		return func() bool { return s.never }
	}
	return func() bool { return s.unlink(c) }
}

// register adds f to the callback list and returns its node, or returns nil
// after running f at once (s has fired) or dropping it (s is Never).
// Composites use it on their inputs, without marking the inputs as observed,
// so that an input that only feeds a composite stays collectable.
func (s *Signal) register(f func()) *callback {
	if s.never {
		return nil
	}
	s.mu.Lock()
	if s.fired.Load() {
		s.mu.Unlock()
		runCallback(f)
		return nil
	}
	c := &callback{f: f, prev: s.tail, linked: true}
	if s.tail != nil {
		s.tail.next = c
	} else {
		s.head = c
	}
	s.tail = c
	s.n++
	s.mu.Unlock()
	return c
}

func (s *Signal) unlink(c *callback) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.linked || s.fired.Load() {
		return false
	}
	c.linked = false
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		s.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		s.tail = c.prev
	}
	c.prev, c.next = nil, nil
	s.n--
	return true
}

// observe runs the composite's pin function once; see compose.go.
func (s *Signal) observe() {
	if s.never {
		return
	}
	s.mu.Lock()
	pin := s.pin
	s.pin = nil
	s.mu.Unlock()
	if pin != nil {
		pin()
	}
}

// PanicError is a panic recovered from a callback, with the stack of the
// goroutine where it happened.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Unwrap returns the panic value if it is an error.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

func runCallback(f func()) {
	defer func() {
		if v := recover(); v != nil {
			p := &PanicError{Value: v, Stack: debug.Stack()}
			slog.Default().Error("signals: callback panicked", "panic", p.Error(), "stack", string(p.Stack))
		}
	}()
	f()
}
