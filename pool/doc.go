// Package pool keeps warm shell sessions and runs commands in them, one call
// per session at a time, with exact output, exact status, isolation between
// calls, timeouts that kill the whole process tree, and no orphans.
//
// A Pool is a thread of a threads tree (New takes its parent); its sessions
// are its child threads, and every running call is a child thread of its
// session, so shutdown walks them in order: no new calls, in-flight calls
// drain until DrainTimeout then are cancelled, sessions stop.
//
//	p, err := pool.New(root, pool.Config{MinIdle: 2, Init: "source venv/bin/activate"})
//	res, err := p.Run(ctx, &pool.Request{Script: "python -V", Stdout: os.Stdout})
//
// # Guarantees
//
// These are the contracts of the mothreads design (C1-C10), each with a test
// in this package:
//
//   - Output arrives byte for byte on separate streams, whatever it holds.
//     User output never passes through a channel the pool parses.
//   - The status is exact: an exit code, or the signal that killed the
//     command. (Two documented limits below.)
//   - Each isolated call starts from the session's pristine state: nothing a
//     previous call did to its shell is visible. Sticky sessions, named by
//     the caller, keep state on purpose.
//   - Stdin is /dev/null unless the caller gives one; a command never reads
//     the session's control input.
//   - A call ends when its main process ends; whatever it left in its
//     process group is killed before the session serves again, and nothing
//     of one call can reach another.
//   - Timeouts and cancellation send SIGTERM to the call's process group,
//     then SIGKILL after the kill grace.
//   - A command that ends or replaces its shell gets a correct result or a
//     clear error; the session is replaced.
//   - Sessions die with the pool's process, even on SIGKILL (see the reaper
//     below), and take their commands and grandchildren with them.
//   - Bad requests get a *RequestError naming the field; a full pool queues
//     calls in FIFO order up to the queue timeout, then refuses them.
//
// # The bash protocol
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
//
// # The reaper
//
// Each pool starts one more process: a small bash that reads session ids
// from a lifeline pipe whose only writer is the pool. When the pool's
// process dies, even by SIGKILL, the pipe closes, and the reaper kills every
// process still in a registered session. Processes that leave their session
// on purpose (setsid, daemonising) escape it.
//
// # Limits
//
//   - A command that replaces its shell's EXIT trap loses the exit report:
//     if it then exits with a status between 129 and 192, the pool reads it
//     as death by a signal. The EXIT trap is visible to `trap -p`.
//   - A bash that catches SIGTERM (because of an EXIT trap, or the
//     command's own trap) dies only when its foreground command ends; the
//     pool sends SIGTERM to processes that join the group after the kill
//     began, and SIGKILL after the kill grace in any case.
//   - Other POSIX shells (Config.Shell set to sh, dash, ...) work without
//     warmth: each call is a fresh `SHELL -c` after the init script.
//   - The bash protocol needs Linux (/proc, pidfd, memfd); Windows has a
//     cmd.exe driver, untested on Windows so far (see cmd_windows.go).
package pool
