//go:build linux

// Package bash is the pool's driver for warm bash sessions (Linux only).
//
// Its idea in one sentence: keep one bash process per session that runs the
// init script once and forks a fresh child for every call ahead of time,
// and drive each call through that child's private channels.
//
// The session program is session.bash, embedded and run as
// `bash --noprofile --norc -c PROGRAM bash`; Shell (shell.go, status.go) is
// the pool's side of one session, run.go runs an isolated call, sticky.go a
// call of a sticky session, slot.go makes a child's channels, and
// version.go checks that the shell is bash 4.4 or newer.
//
// Imports: bash → driver → proc → signals; only the pool imports bash, and
// nothing here imports the pool.
//
// # The protocol
//
// A session is one `bash --noprofile --norc` process in a session of its
// own (setsid), started from a thread locked for the pool's lifetime with a
// parent-death signal. Its standard input is a control pipe from the pool,
// its standard output a status pipe to the pool, its standard error a
// diagnostics pipe that is only logged. It runs the init script once, then
// reports its exported environment, its directory, its builtins and
// functions, and whether the init changed the umask or resource limits.
//
// Isolation costs a fork per call; the session does that fork ahead of time,
// while idle. The shell always keeps two children forked: one that may be
// running a call, one ready for the next. For each child the pool first
// makes fresh channels, and announces them on the control pipe as a
// fixed-width line: pipes for stdout, stderr and the call's own status, a
// wake-up pipe, and a memfd for the job. The pool keeps one end of each; the
// child opens the other through /proc/<pool pid>/fd/<n>, so no file is
// created per call and no channel is ever shared by two calls. The child
// drops job control (it is the leader of its own process group), installs
// its exit report, warms the code paths a call will use so that the
// copy-on-write faults of the fork happen now, reports "ready", and blocks on
// its wake-up pipe.
//
// A call writes its job into the memfd (NUL-separated fields: kind, working
// directory, stdin, variables to unset and to export, then the script or the
// argv words), and writes one byte to the wake-up pipe. The child reads the
// job, applies it, and evals the command at its top level, as `bash -c`
// would. When the command finishes, the child closes its output and writes
// "done RC" to its status pipe: the call is over before the child has even
// exited. If the command ends the child itself (exit, errexit, a signal),
// the child's EXIT trap writes "exit RC" instead, and the parent shell
// reports the child's $? on the shared status pipe; comparing the two tells
// exit status 128+N from death by signal N, which $? alone cannot.
//
// When a call's main process has ended, the pool sends SIGTERM to the call's
// process group, waits for the output to end (bounded by the kill grace),
// and sends SIGKILL to what is left. Output that still does not end comes
// from a process that left the group; the pool stops reading it.
//
// External programs in argv form are not run through the shell: when the
// init script left the umask and limits as they were, the pool spawns them
// itself (Go's vfork-based spawn is the cheapest fork and exec there is),
// with the session's environment and directory, in a new session that it
// kills at the end. The result is the same as exec'ing them from the
// session, and the status is exact. Calls with a terminal are spawned the
// same way, on a new pseudo-terminal, because a controlling terminal needs a
// session of its own.
//
// Sticky sessions run their commands in the session's shell itself, under
// job control; a timeout there kills the whole session, and the result says
// its state is lost.
package bash
