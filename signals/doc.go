// Package signals provides Signal, a one-shot irreversible event, its
// compositions (Or, And), its bridges to context.Context, and Till: a Signal
// that fires after a duration, owned by a Timers root that fires all of them
// early when the program shuts down.
//
// These are the smallest pieces of mothreads' concurrency core, ported from
// the ideas of the Python library mo-threads: every please-stop request, every
// timeout and every "this has finished" in mothreads is a Signal, so they can
// be combined freely:
//
//	stop := signals.Or(pleaseStop, clientGone)
//	timeout, release := timers.Till(5 * time.Second)
//	defer release()
//	if !done.WaitTill(signals.Or(stop, timeout)) {
//		// timed out or asked to stop
//	}
//
// The package uses the standard library only, and nothing in it runs at import
// time.
//
// # Costs
//
// A pending Signal is one small struct; Done allocates its channel on first
// use. Then allocates one list node and removing it is O(1). A Till is one
// runtime timer plus one list entry in its Timers. Or and And register one
// callback per input and remove them when the result fires or is dropped
// unobserved; see Or for the rules.
package signals
