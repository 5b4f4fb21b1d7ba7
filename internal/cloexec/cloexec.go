// Package cloexec marks the file descriptors a process inherited as
// close-on-exec, so that the programs it starts do not inherit them.
//
// A Go program opens its own files close-on-exec, but descriptors it was
// given by its parent (a harness's fd 3, a CI log pipe, make's jobserver)
// stay inheritable, and os/exec passes them on to every child. A daemon that
// keeps such a pipe open in its children makes the parent wait for an EOF
// that comes only when the daemon exits.
package cloexec

// From marks every open descriptor numbered first or above close-on-exec.
// The process itself keeps them open. It returns the first error, after
// trying every descriptor.
func From(first int) error { return from(first) }
