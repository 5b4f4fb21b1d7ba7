// Package cmdexe is the pool's cmd.exe driver for Windows.
//
// Its idea in one sentence: run each call of a cmd.exe session as a new
// process in a Job Object of its own, with the directory and environment
// the session's init script left.
//
// Where it is tested: its platform-neutral parts (text.go, no build
// constraint) on every machine; the whole driver, through a pool, under
// Wine 8 in CI (.ci/windows), with Wine's own cmd.exe. Not yet on a real
// Windows machine. Where Wine's cmd.exe or tools differ from Windows', the
// tests skip that one assertion under Wine and say why: a redirection
// after a parenthesised block ("(echo x)>&2") is ignored; findstr is a stub;
// after `call` of a batch file that ends with `exit /b N`, ERRORLEVEL is 1,
// not N (so an init script's failure is reported with status 1 there).
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
