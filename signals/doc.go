// Package signals provides Signal, a one-shot irreversible event, its
// compositions (Or, And), its bridges to context.Context, and Till: a Signal
// that fires after a duration, owned by a Timers root that fires all of them
// early when the program shuts down (After makes one that no shutdown
// fires).
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
// runtime timer plus one list entry in its Timers.
//
// Or and And are lazy: building one allocates it and registers nothing. It
// registers one callback per input only while somebody waits on it or
// watches it (Wait, WaitTill, Watch, Then, Done), and removes them when it
// fires or when the last of those lets go, so a composite built for one
// bounded wait leaves nothing on a long-lived input whichever side wins.
// Done is the exception: its channel may be watched for ever, so it keeps
// the composite registered until it fires; use Watch, whose Release ends
// it, where the inputs outlive the wait. An Or of two costs about what a
// select of two channels costs when an input has fired before anyone waits,
// and under twice that when it has to register on both inputs first (one
// allocation for the result and its registrations, one for its channel;
// a Watch is a value). BenchmarkOrVersusSelect measures both, and a bounded
// wait, against a select in one run: about 1.0x, 1.75x and 1.5x here.
package signals
