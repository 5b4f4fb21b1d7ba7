package signals

// Watch is one watch of a Signal's Done channel, made by Signal.Watch. For a
// result of Or or And it keeps the result registered on its inputs, so that
// the channel closes when they decide it, until Release; for any other
// Signal it holds nothing. The zero Watch watches nothing: its Done channel
// is nil and Release does nothing.
//
// Watch is a value, not the (done, release) pair of context.WithCancel, so
// that a bounded wait in a select allocates nothing for it (runtime.Cleanup
// takes the same shape for the same reason).
//
// Trap: call Release on the Watch itself, not on a copy: Release clears the
// Watch, which is what makes a second Release harmless; a copy released as
// well drops a registration that another watcher still needs. go vet's
// copylocks check reports a copy of a Watch, as it does for a sync.Mutex. A
// Watch must not be released by two goroutines at once.
type Watch struct {
	_    noCopy
	done <-chan struct{}
	s    *Signal // the composite watched, until Release
}

// noCopy makes go vet's copylocks check report a copy of the struct that
// holds it; it has no size and does nothing at run time.
type noCopy struct{}

// Lock is never called: it marks noCopy for go vet.
func (*noCopy) Lock() {}

// Unlock is never called: it marks noCopy for go vet.
func (*noCopy) Unlock() {}

// Watch returns a watch of s's Done channel. Release it once the channel is
// no longer watched: until then (or until s fires) a result of Or or And
// stays registered on its inputs.
//
//	w := signals.Or(pleaseStop, timeout).Watch()
//	defer w.Release()
//	select {
//	case r := <-results:
//	case <-w.Done():
//	}
//
// Trap: after Release, the channel of a result of Or or And that has not
// fired may never close; stop watching it first.
func (s *Signal) Watch() Watch {
	if s.comp == nil {
		return Watch{done: s.channel()}
	}
	ch, counted := s.watch(true)
	if !counted { // s has fired: nothing to release
		return Watch{done: ch}
	}
	return Watch{done: ch, s: s}
}

// Done returns the channel that closes once the watched Signal has fired
// and its callbacks have run; nil for the zero Watch and for Never.
func (w *Watch) Done() <-chan struct{} { return w.done }

// Release ends the watch: a result of Or or And that nobody else watches
// leaves its inputs. A second Release of the same Watch does nothing.
func (w *Watch) Release() {
	if s := w.s; s != nil {
		w.s = nil
		s.unwatch()
	}
}
