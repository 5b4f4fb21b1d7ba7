//go:build unix

// Package posix is the pool's driver for POSIX shells without a warm
// protocol.
//
// Its idea in one sentence: run every call as a fresh `SHELL -c` (or the
// program itself, for an argv without an init script), spawned directly
// with driver.RunDirect after the init script. It keeps no process between
// calls, so it gains nothing from warmth, and it has no sticky sessions.
// The pool uses it for any shell other than bash on Linux, and for every
// shell on macOS and the BSDs, where the bash driver does not build.
//
// Imports: posix → driver → proc → signals; only the pool imports posix.
package posix
