// Package driver is the contract between the pool's scheduler and its shell
// drivers.
//
// Its idea in one sentence: what a call is and how a driver runs one. It
// holds the request and its result (Request, Result, Limits, Validate), the
// errors a call is refused with (RequestError, ErrKind, ErrClosed,
// ErrQueueTimeout), the per-call record (Call) and the Supervisor that
// enforces its timeout and cancellation, the Shell interface every driver
// implements and the Spec it starts from, the session environment
// (SessionEnv) and working directory (ResolveDir), and on Unix the direct
// spawn (RunDirect) that the bash and POSIX drivers share and the reader of
// a session shell's diagnostics (DiagTail) that the bash and portable
// drivers share.
//
// Imports: driver → proc → signals; the drivers (bash, posix, cmdexe)
// import driver, and the pool imports them all. Nothing here imports the
// pool or a driver. The pool re-exports the public part (Request, Result,
// RequestError, ...) as type aliases, so its callers never see this
// package.
package driver
