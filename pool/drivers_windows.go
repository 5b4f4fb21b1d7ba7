package pool

import (
	"github.com/mothreads/mothreads/pool/internal/cmdexe"
	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
)

const defaultShell = "cmd.exe"

// driverKind is how a pool runs its shell; Windows has one driver.
type driverKind int

const kindCmd driverKind = iota

// probeShell resolves the configured shell, which must be cmd.exe, and reads
// its version. The driver choice is always cmd.exe's (Config rejects
// "portable" here).
func probeShell(name, _ string) (path string, kind driverKind, version string, err error) {
	path, version, err = cmdexe.Probe(name)
	if err != nil {
		return "", 0, "", err
	}
	return path, kindCmd, version, nil
}

// newShell starts a session with the cmd.exe driver.
func newShell(kind driverKind, spec *driver.Spec) (driver.Shell, error) {
	if spec.Sticky {
		return nil, &RequestError{Field: "session", Kind: Invalid,
			Problem: "sticky sessions need bash as the pool's shell: cmd.exe runs every call as a new process, so no state could persist"}
	}
	return cmdexe.Start(spec)
}

// exactStatus is false: no pidfd here.
func exactStatus(driverKind, *proc.Spawner) bool { return false }
