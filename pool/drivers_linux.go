//go:build linux

package pool

import (
	"fmt"

	"github.com/mothreads/mothreads/pool/internal/bash"
	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/portable"
	"github.com/mothreads/mothreads/pool/internal/posix"
	"github.com/mothreads/mothreads/pool/internal/proc"
)

// pickDriver chooses the bash driver for bash 4.4 or newer (an older bash is
// an error) and the POSIX driver for any other shell (bashVersion empty),
// or the portable driver when force is DriverPortable (bash 4.4 or newer).
func pickDriver(path, bashVersion, force string) (string, driverKind, string, error) {
	if force == DriverPortable {
		if bashVersion == "" {
			return "", 0, "", fmt.Errorf("config driver: the %q driver needs bash; %s is not bash", DriverPortable, path)
		}
		v, err := driver.CheckBashVersion(path, bashVersion)
		if err != nil {
			return "", 0, "", fmt.Errorf("config driver: %w", err)
		}
		return path, kindPortable, v, nil
	}
	if bashVersion == "" {
		return path, kindPOSIX, "", nil
	}
	v, err := driver.CheckBashVersion(path, bashVersion)
	if err != nil {
		return "", 0, "", fmt.Errorf("config shell: %w", err)
	}
	return path, kindBash, v, nil
}

// newShell starts a session's shell with the pool's driver.
func newShell(kind driverKind, spec *driver.Spec) (driver.Shell, error) {
	switch kind {
	case kindPOSIX:
		return posix.New(spec)
	case kindPortable:
		return portable.Start(spec)
	}
	return bash.Start(spec)
}

// exactStatus says whether the kernel keeps the exit status of any process
// in its pidfd (see driver.Spec.ExactStatus).
func exactStatus(kind driverKind, sp *proc.Spawner) bool {
	return kind == kindBash && proc.HasPidfdExit(sp.Start)
}
