//go:build unix && !linux

package pool

import (
	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/posix"
	"github.com/mothreads/mothreads/pool/internal/proc"
)

// pickDriver chooses the POSIX driver for every shell, bash included: the
// bash driver needs Linux (/proc, pidfd, memfd). The version is not
// reported, as for any shell the POSIX driver runs.
func pickDriver(path, bashVersion string) (string, driverKind, string, error) {
	return path, kindPOSIX, "", nil
}

// newShell starts a session's shell with the POSIX driver.
func newShell(kind driverKind, spec *driver.Spec) (driver.Shell, error) {
	if spec.Sticky {
		return nil, &RequestError{Field: "session", Kind: Invalid,
			Problem: "sticky sessions need the bash driver, which needs Linux"}
	}
	return posix.New(spec)
}

// exactStatus is false: no pidfd here.
func exactStatus(driverKind, *proc.Spawner) bool { return false }
