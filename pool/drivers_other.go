//go:build unix && !linux

package pool

import (
	"fmt"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/portable"
	"github.com/mothreads/mothreads/pool/internal/posix"
	"github.com/mothreads/mothreads/pool/internal/proc"
)

// pickDriver chooses the portable driver for bash 4.4 or newer (the bash
// driver needs Linux: /proc, pidfd, memfd) and the POSIX driver for any
// other shell, an older bash included (macOS's /bin/bash is 3.2), unless
// force is DriverPortable, which makes an older bash an error.
func pickDriver(path, bashVersion, force string) (string, driverKind, string, error) {
	if bashVersion == "" {
		if force == DriverPortable {
			return "", 0, "", fmt.Errorf("config driver: the %q driver needs bash; %s is not bash", DriverPortable, path)
		}
		return path, kindPOSIX, "", nil
	}
	v, err := driver.CheckBashVersion(path, bashVersion)
	switch {
	case err != nil && force == DriverPortable:
		return "", 0, "", fmt.Errorf("config driver: %w", err)
	case err != nil:
		return path, kindPOSIX, "", nil
	}
	return path, kindPortable, v, nil
}

// newShell starts a session's shell with the pool's driver; sticky
// sessions are refused (neither driver here has them).
func newShell(kind driverKind, spec *driver.Spec) (driver.Shell, error) {
	if spec.Sticky {
		return nil, &RequestError{Field: "session", Kind: Invalid,
			Problem: "sticky sessions need the bash driver, which needs Linux"}
	}
	if kind == kindPortable {
		return portable.Start(spec)
	}
	return posix.New(spec)
}

// exactStatus is false: no pidfd here.
func exactStatus(driverKind, *proc.Spawner) bool { return false }
