//go:build unix

package pool

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/mothreads/mothreads/signals"
)

const defaultShell = "bash"

// driverKind is how a pool runs its shell.
type driverKind int

const (
	kindBash  driverKind = iota // warm sessions (bash >= 4.4)
	kindPOSIX                   // any other shell: a fresh `SHELL -c` per call
)

// probeShell resolves the configured shell and decides how to drive it.
func probeShell(name string) (path string, kind driverKind, version string, err error) {
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
	v := strings.TrimSpace(string(out))
	if v == "" {
		return path, kindPOSIX, "", nil
	}
	major, rest, _ := strings.Cut(v, ".")
	minor, _, _ := strings.Cut(rest, ".")
	v = major + "." + minor
	ma, _ := strconv.Atoi(major)
	mi, _ := strconv.Atoi(minor)
	if ma < 4 || ma == 4 && mi < 4 {
		return "", 0, "", fmt.Errorf("config shell: %s is bash %s; bash 4.4 or newer is needed", path, v)
	}
	return path, kindBash, v, nil
}

// newShell starts a session's shell with the pool's driver.
func newShell(kind driverKind, spec *shellSpec) (shell, error) {
	if kind == kindPOSIX {
		if spec.sticky {
			return nil, &RequestError{Field: "session", Kind: Invalid, Problem: "sticky sessions need bash as the pool's shell"}
		}
		return &posixShell{spec: spec}, nil
	}
	s, err := startBash(spec)
	if err != nil {
		return nil, err
	}
	if spec.sticky {
		s.sticky = &stickyState{}
	}
	return s, nil
}

// posixShell drives a shell without a warm protocol: every call is a fresh
// `SHELL -c`, after the init script. It keeps no process between calls.
type posixShell struct {
	spec  *shellSpec
	never signals.Signal
}

func (p *posixShell) run(c *call) (*Result, error) {
	dir, err := resolveDir(c.req, p.spec.dir)
	if err != nil {
		return nil, err
	}
	senv := &sessionEnv{now: envMap(p.spec.env), delta: map[string]*string{}}
	env := senv.final(c.req, true)
	prelude := ""
	if p.spec.init != "" {
		prelude = p.spec.init + "\n"
	}
	var argv []string
	switch {
	case len(c.req.Argv) > 0 && prelude == "":
		argv = c.req.Argv
	case len(c.req.Argv) > 0:
		argv = append([]string{p.spec.shell, "-c", prelude + `exec "$@"`, p.spec.shell}, c.req.Argv...)
	default:
		argv = []string{p.spec.shell, "-c", prelude + c.req.Script}
	}
	return runDirect(c, p.spec, directCmd{argv: argv, env: senv, vars: env, dir: dir})
}

func (p *posixShell) died() *signals.Signal  { return &p.never }
func (p *posixShell) ready() *signals.Signal { return signals.And() }
func (p *posixShell) pid() int               { return 0 }
func (p *posixShell) alive() bool            { return true }
func (p *posixShell) memory() int64          { return 0 }
func (p *posixShell) close(time.Duration)    {}
