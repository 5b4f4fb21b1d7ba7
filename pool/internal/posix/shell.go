//go:build unix

package posix

import (
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/signals"
)

// New returns a session of spec.Shell, a POSIX shell driven without a warm
// protocol. It starts nothing. Sticky sessions are not possible: spec.Sticky
// is an Invalid error for the field "session".
func New(spec *driver.Spec) (*Shell, error) {
	if spec.Sticky {
		return nil, &driver.RequestError{Field: "session", Kind: driver.Invalid, Problem: "sticky sessions need bash as the pool's shell"}
	}
	return &Shell{spec: spec}, nil
}

// Shell drives a shell without a warm protocol: every call is a fresh
// `SHELL -c`, after the init script. It keeps no process between calls.
type Shell struct {
	spec  *driver.Spec
	never signals.Signal
}

// Run runs the call as a fresh `SHELL -c` (or, for an argv without an init
// script, as the program itself), spawned directly.
func (p *Shell) Run(c *driver.Call) (*driver.Result, error) {
	dir, err := driver.ResolveDir(c.Req, p.spec.Dir)
	if err != nil {
		return nil, err
	}
	senv := driver.NewStaticEnv(p.spec.Env)
	env := senv.Final(c.Req, true)
	prelude := ""
	if p.spec.Init != "" {
		prelude = p.spec.Init + "\n"
	}
	var argv []string
	switch {
	case len(c.Req.Argv) > 0 && prelude == "":
		argv = c.Req.Argv
	case len(c.Req.Argv) > 0:
		argv = append([]string{p.spec.Shell, "-c", prelude + `exec "$@"`, p.spec.Shell}, c.Req.Argv...)
	default:
		argv = []string{p.spec.Shell, "-c", prelude + c.Req.Script}
	}
	return driver.RunDirect(c, p.spec, driver.DirectCmd{Argv: argv, Env: senv, Vars: env, Dir: dir})
}

// Died never fires, Ready has always fired, Alive is always true: a POSIX
// session keeps no process between calls, so it has no PID and no memory,
// and Close has nothing to stop.
func (p *Shell) Died() *signals.Signal  { return &p.never }
func (p *Shell) Ready() *signals.Signal { return signals.And() }
func (p *Shell) PID() int               { return 0 }
func (p *Shell) Alive() bool            { return true }
func (p *Shell) Memory() int64          { return 0 }
func (p *Shell) Close(time.Duration)    {}
