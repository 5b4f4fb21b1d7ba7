// Package cmdexe is the pool's cmd.exe driver for Windows.
//
// Its idea in one sentence: run each call of a cmd.exe session as a new
// process in a Job Object of its own, with the directory and environment
// the session's init script left. UNTESTED ON WINDOWS: it compiles
// (GOOS=windows go vet) and its platform-neutral parts (text.go, no build
// constraint) are tested on every machine, but it has not run on a Windows
// machine yet.
//
// A cmd.exe session keeps no process between calls. cmd.exe cannot be
// driven safely through its standard input (it echoes, parses and expands
// what it reads, and has no way to run a call in a copy of itself), so a
// session is what its init script leaves behind: at start, cmd.exe runs the
// init script once and then writes its directory and environment (the
// start script, start.cmd); every call then runs as a new process with that
// environment (the caller's base environment, the init script's changes,
// the call's own entries) and in that directory, which gives isolation
// (C3) for free and costs one process creation per call.
//
// Each call's process is created suspended, put in the pool's Job Object
// (kill-on-close: everything dies with the daemon) and in a Job Object of
// its own nested there, and only then resumed (start_windows.go). A
// timeout, a cancel or a signal terminates the call's job: the whole tree,
// at once. When the main process exits, whatever it left in its job is
// terminated (C5).
//
// Imports: cmdexe → driver → proc → signals; the pool imports cmdexe on
// Windows only, and nothing under pool/internal imports the pool.
package cmdexe
