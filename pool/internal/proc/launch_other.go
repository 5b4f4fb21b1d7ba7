//go:build !linux

package proc

// Launch does nothing on this system: session shells are started directly.
func Launch() {}
