//go:build unix

package pool

import (
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/mothreads/mothreads/signals"
)

const defaultShell = "bash"

// driverKind is how a pool runs its shell: with the bash driver (Linux
// only), the portable bash driver or the POSIX one.
type driverKind int

const (
	kindBash     driverKind = iota // warm sessions (bash >= 4.4)
	kindPOSIX                      // any other shell: a fresh `SHELL -c` per call
	kindPortable                   // warm sessions without Linux machinery (bash >= 4.4)
)

// probeShell resolves the configured shell, asks it for $BASH_VERSION, and
// decides how to drive it (pickDriver, per platform; force is
// Config.Driver).
func probeShell(name, force string) (path string, kind driverKind, version string, err error) {
	path, err = exec.LookPath(name)
	if err != nil {
		return "", 0, "", fmt.Errorf("config shell: %q: %w", name, err)
	}
	probe, cancel := (*signals.Timers)(nil).Till(10 * time.Second)
	defer cancel()
	cmd := exec.Command(path, "-c", `printf '%s' "${BASH_VERSION:-}"`)
	done := make(chan struct{})
	var out []byte
	go func() {
		out, err = cmd.Output()
		close(done)
	}()
	select {
	case <-done:
	case <-probe.Done():
		cmd.Process.Kill()
		<-done
		return "", 0, "", fmt.Errorf("config shell: %s did not answer within 10s", path)
	}
	if err != nil {
		return "", 0, "", fmt.Errorf("config shell: %s -c failed: %w", path, err)
	}
	return pickDriver(path, strings.TrimSpace(string(out)), force)
}
