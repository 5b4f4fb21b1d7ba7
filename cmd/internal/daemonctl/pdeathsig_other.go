//go:build unix && !linux

package daemonctl

import "syscall"

// setPdeathsig does nothing where there is no parent-death signal: an
// attached daemon relies on its --exit-idle to go away.
func setPdeathsig(*syscall.SysProcAttr) {}
