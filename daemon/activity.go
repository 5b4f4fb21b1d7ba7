package daemon

import (
	"sync"

	"github.com/mothreads/mothreads/signals"
)

// activity counts the service's calls in flight, for the idle exit and for
// the end of the drain. The zero value is ready.
type activity struct {
	mu    sync.Mutex
	n     int
	gen   uint64            // calls begun so far
	kick  chan struct{}     // wakes the idle thread on every begin and end
	zeros []*signals.Signal // fire when n drops to zero
}

func (a *activity) kickLocked() {
	if a.kick == nil {
		a.kick = make(chan struct{}, 1)
	}
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// begin counts a call in; call the returned function when it ends.
func (a *activity) begin() func() {
	a.mu.Lock()
	a.n++
	a.gen++
	a.kickLocked()
	a.mu.Unlock()
	var once sync.Once
	return func() { once.Do(a.end) }
}

func (a *activity) end() {
	a.mu.Lock()
	a.n--
	var zeros []*signals.Signal
	if a.n == 0 {
		zeros, a.zeros = a.zeros, nil
	}
	a.kickLocked()
	a.mu.Unlock()
	for _, z := range zeros {
		z.Go()
	}
}

// snapshot returns whether calls are in flight, how many have begun, and
// the channel that is signalled on the next begin or end.
func (a *activity) snapshot() (busy bool, gen uint64, kick <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.kick == nil {
		a.kick = make(chan struct{}, 1)
	}
	return a.n > 0, a.gen, a.kick
}

// idleSince reports whether no call is in flight and none has begun since
// snapshot returned gen.
func (a *activity) idleSince(gen uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n == 0 && a.gen == gen
}

// count returns the calls in flight.
func (a *activity) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// none returns a Signal that fires when no call is in flight (at once if
// none is now).
func (a *activity) none() *signals.Signal {
	s := signals.New()
	a.mu.Lock()
	if a.n > 0 {
		a.zeros = append(a.zeros, s)
		a.mu.Unlock()
		return s
	}
	a.mu.Unlock()
	s.Go()
	return s
}
