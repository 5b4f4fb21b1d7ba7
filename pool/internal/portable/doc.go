//go:build unix

// Package portable is the pool's driver for warm bash sessions on any Unix:
// macOS and the BSDs use it for bash 4.4 or newer, and Linux when the
// pool's Config.Driver asks for it (which is how CI runs the pool's
// contract tests against it).
//
// Its idea in one sentence: keep one bash per session that has run the init
// script once, and run every call in a child that bash forks with job
// control (so in a process group of its own), with nothing but POSIX
// machinery: no /proc, no pidfd, no memfd.
//
// Files: shell.go holds Shell and its start, session.bash the shell's side
// (embedded), run.go a call, job.go the shell code that sets a call up,
// status.go the shell's reports, fifo.go the calls' FIFOs, wait.go the
// shell's own end and stops, sweep.go the end of what a call left in the
// session, version.go the bash version check.
//
// Imports: portable → driver → proc → signals; only the pool imports it.
//
// # Processes and channels
//
// The session's shell S is `bash -c BOOT bash` (session.bash), started
// directly (not through the pool's launcher, which is Linux machinery) in a
// session of its own (setsid), with a control pipe as stdin, a diagnostics
// pipe as stdout and stderr, and a status pipe as descriptor 3; its
// environment names DIR, the session's private directory (mode 0700, under
// Config.RuntimeDir: os.TempDir() unless set). S runs the init script once,
// writes what it became (exported environment, directory, builtins and
// functions, options and traps) to files in DIR, says "ready", turns job
// control on and reads one line per call.
//
// # A call
//
// The pool writes the call's job (shell code: the init's options and traps,
// cd, environment, the script) to DIR/N.job, makes the FIFOs N.out and
// N.err (and N.in with stdin) and opens its ends, then sends "N TOKEN".
// S opens the FIFOs (to descriptors of its own, so that C gets no copy of
// S's), forks the asynchronous subshell C, which job control puts in a
// process group of its own, and closes them; C moves them to 0, 1 and 2,
// sources the job and evals the script (an argv naming an external program
// is exec'd). S reports C's pid, waits for it with wait (-f),
// and reports how it ended: the exit status, and from the job table whether
// it was a death by a signal (which wait alone reports as 128+N, like an
// exit with that status). The output never passes through a stream the pool
// parses, and the reports carry the call's random token, so nothing a
// command prints can be taken for one. A call ends when C has ended; then
// C's process group gets SIGTERM, the output the kill grace to end, the
// group SIGKILL, and before the session serves again every other process
// left in S's session is killed (found with pgrep -s, which macOS, the
// BSDs and Linux all have).
//
// # Limits
//
//   - $$ in a call is S's pid, not the call's: a command that signals $$
//     kills the session's shell; the call then gets that signal too, and
//     its result says the session was lost (Signal set, SessionLost). A
//     trap a script sets for a signal it sends to $$ does not run (bash -c
//     would run it), and the session is replaced.
//   - When the job table no longer lists the child by the time S looks
//     (its own wait took the status first), the kind of end is unknown and
//     a status above 128 is reported as a signal; the tests have not seen
//     it but for a call that signalled $$.
//   - A script's last command is not exec'd as bash -c does: a script
//     whose last command dies of signal N ends with status 128+N (and bash
//     prints the death on the call's stderr).
//   - The sweep costs one pgrep per call, off the caller's path but before
//     the session's next call: on a loaded machine, a trivial call is not
//     faster than spawning bash -c; the gain is the init script paid once.
//   - A call's process that moves to a session of its own (setsid) escapes
//     the end-of-call sweep.
//   - Sticky sessions are not offered: a request for one is an Invalid
//     error for the field "session".
//   - Without a parent-death signal (macOS, the BSDs), a call in progress
//     outlives a crash of the pool's process; idle sessions end, as their
//     control pipe closes.
//   - Memory is not measured (0).
package portable
