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
// # Structure
//
// This package's idea: schedule calls onto warm sessions, behind the
// public API. It holds sessions, the FIFO queue, sticky sessions, the
// keeper and the figures. What a call is and how a
// driver runs one is the contract in pool/internal/driver (Request, Result
// and RequestError here are aliases of its types). The drivers implement
// it: pool/internal/bash (Linux: warm sessions, the protocol below),
// pool/internal/portable (warm bash sessions with POSIX machinery only:
// bash on macOS and the BSDs, and on Linux when Config.Driver is
// "portable", which is how CI runs this package's contract tests against
// it), pool/internal/posix (any other POSIX shell, and bash older than 4.4
// on macOS and the BSDs), pool/internal/cmdexe (Windows). They are built on the OS
// primitives of pool/internal/proc. Imports run one way (go list -deps):
// pool → {bash, portable, posix, cmdexe} → driver → proc → signals; the pool also
// uses driver (the Spec and Call it hands a driver) and proc (the spawner
// and reaper it owns) directly, and nothing under pool/internal imports the
// pool. drivers_*.go choose the driver per platform.
//
// # The bash protocol
//
// A session is one warm bash process that forks a child per call ahead of
// time, while idle, and hands it the call through private pipes and a
// memfd; the package doc of pool/internal/bash describes the protocol, and
// session.bash next to it is the shell's side.
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
//   - The bash protocol needs Linux (/proc, pidfd, memfd): elsewhere bash
//     runs with the portable driver (see its package doc for what it does
//     not do), sticky sessions are refused, and without /proc the reaper
//     reaches less (see pool/internal/proc). Windows has a cmd.exe driver, tested under
//     Wine 8 in CI but not yet on Windows (see pool/internal/cmdexe).
package pool
