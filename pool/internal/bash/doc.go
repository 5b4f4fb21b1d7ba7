//go:build linux

// Package bash is the pool's driver for warm bash sessions (Linux only).
//
// Its idea in one sentence: keep one bash per session that has run the init
// script once, fork a child of it ahead of every call, and run the call in
// that child as `bash -c` would run it, with the kernel as the only
// authority on how it ended.
//
// Files: shell.go holds Shell (the pool's side of one session), launch.go
// starts it and runs the handshake, protocol.go the grammar of every
// message and the boot lines, session.bash the shell's side (embedded),
// job.go the shell code that sets a call up, spares.go and slot.go the
// children forked ahead and their channels, reports.go the control
// socket's reports, lines.go the line reader that a call's end syncs with,
// run.go an isolated call, input.go its input, end.go its early end, relay.go
// the signals sent to $$, sticky.go a sticky call, look.go what a sticky
// session is doing, bglog.go its background output (the shell's own
// diagnostics are read by driver.DiagTail), version.go the bash version check.
//
// Imports: bash → driver → proc → signals; only the pool imports bash.
//
// # Processes
//
// An isolated session is three kinds of process. The session's shell S is
// `bash -c BOOT` started through the pool's launcher, which makes it a
// child subreaper with a clean signal state and no inherited descriptor; it
// runs the init script, reports what it found and became (environment,
// directory, builtins, functions, umask and limits), forks the forker F (a
// subshell of itself) and then only waits: a process a call leaves behind
// is reparented to S, so S's children other than F are exactly the
// leftovers. F reads "fork slot K" messages from the control socket and
// forks one child per call ahead of time. A child opens its call's FIFOs
// (stdout, stderr, input) in the session's private directory, drops every
// trace of the session program, warms up the code paths a call takes (so
// the copy-on-write faults of the fork happen while idle) and waits for its
// job on the input FIFO.
//
// # A call
//
// The pool writes the job (shell code: cd, environment, a syntax check, the
// set-up report) to the child's input FIFO; the child applies it and evals
// the script at the top level of its -c string, on line 1, so that errors,
// LINENO, $0 and `return` read as under bash -c, with descriptors 0, 1 and
// 2 only. The call's exit status is the kernel's. A script that runs to its
// end is followed by one command that writes an end report to a FIFO named
// by the child's pid; the pool ends the call there once the kernel says the
// child is exiting with that status (a forked bash takes hundreds of
// microseconds to finish exiting), and nothing written there decides a
// status. Otherwise the call ends when the child has exited (pidfd).
// Then what the call left behind (its process group, S's extra children)
// gets SIGTERM, the output the time to end (the kill grace), and SIGKILL.
//
// A signal a script sends to $$ reaches S, whose trap writes it to the
// signal pipe; the pool passes it on to the call in progress, and before a
// call is over it makes sure that S has nothing left to pass on, so such a
// signal never reaches the next call. `kill -STOP $$` stops S, which the
// pool resumes, stopping the call instead.
//
// External programs in argv form are spawned by the pool itself when the
// init left the umask and limits alone, and calls with a terminal run on a
// pseudo-terminal of their own (driver.RunDirect).
//
// # Sticky sessions
//
// A sticky session's shell reads its commands from the control socket as a
// terminal's shell reads them from its terminal, with a pseudo-terminal of
// the pool's as its controlling terminal and job control on: each call is
// one command line. An interrupt (a timeout, Interrupt) is ^C for the
// foreground job only; the shell discards the rest of the line and keeps its
// state. Background jobs outlive their call; their later output goes to the
// session's log.
//
// Every message and its exact form are in protocol.go; everything the pool
// does not trust (a report out of turn, a pid that is not the forker's
// child) retires the session.
package bash
