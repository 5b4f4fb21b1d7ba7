// Package threads gives goroutines the structure of mo-threads: every unit of
// work is a named Thread with a parent, a please-stop Signal and a Stopped
// Signal, so that shutdown walks the tree in order, errors and panics reach
// whoever joins, and logs and profiles read as one tree of paths such as
// "main/pool/session-3".
//
// A program opts in with Main, which turns SIGINT and SIGTERM into an ordered
// shutdown (a second signal forces it, or, with OnSecondSignal, hurries it and
// leaves the forcing to a third) and dumps stacks on SIGUSR1; a test or
// a library uses NewRoot. Inside a tree, Go and GoValue start children, and
// Register adopts goroutines started elsewhere (gRPC handlers) so that
// shutdown waits for them too.
//
// Next to errgroup: Join (or JoinTill, bounded) returns a child's error;
// JoinChildren waits for all of a thread's children without stopping them,
// as errgroup's Wait does; SetLimit and TryGo bound how many run at once.
// Next to context: Thread.Context hands the please-stop request to
// context-based code and carries the thread, which FromContext finds again
// (the seed's Thread.current()).
//
// The package also has the seed's two synchronisation helpers: Lock, a
// monitor whose Wait always re-acquires, and Queue, a FIFO of values that are
// passed, not copied.
//
// # Shutdown, in order
//
// Asking a thread to stop fires its PleaseStop Signal and, through it, its
// children's, the last started first. Each body finishes in its own way (a
// server drains, a pool finishes its calls) and returns. A thread counts as
// stopped only after its body returned and its children stopped: it joins
// them one at a time, most recent first, waiting for each at most the child's
// stop timeout, and reports by path any that missed it. The root's Tills fire
// the moment it is asked to stop, so sleepers wake up.
//
// # Errors
//
// A body's error, or its panic as a *PanicError with the stack, or
// ErrGoexit if it called runtime.Goexit, goes to whoever joins the thread.
// A released thread's error is logged. An error nobody joined or released
// goes to the parent's Join, or is logged once it has waited a minute for
// that (LogUnjoinedAfter), as the seed does.
package threads
