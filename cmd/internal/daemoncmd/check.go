package daemoncmd

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/mothreads/mothreads/daemon"
)

// check refuses pool settings that contradict each other or name what is
// not there, with the flag in the message, before anything starts. The
// daemon's own settings (the socket, TCP, TLS and tokens) are checked by
// daemon.Config.Validate, whose errors flagError turns into flag errors.
func (f *flags) check() error {
	if f.maxSessions > 0 && f.minIdle > f.maxSessions {
		return fmt.Errorf("--min-idle %d is over --max-sessions %d", f.minIdle, f.maxSessions)
	}
	if f.maxSessions > 0 && f.maxSticky > f.maxSessions {
		return fmt.Errorf("--max-sticky %d is over --max-sessions %d", f.maxSticky, f.maxSessions)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"queue-timeout", f.queueTimeout}, {"kill-grace", f.killGrace}, {"drain-timeout", f.drainTimeout}} {
		if d.v == 0 {
			return fmt.Errorf("--%s must be positive", d.name)
		}
	}
	if f.shell == "" {
		return fmt.Errorf("--shell: empty; give a shell's name or path (default bash)")
	}
	if _, err := exec.LookPath(f.shell); err != nil {
		return fmt.Errorf("--shell %q: %w", f.shell, unwrapExec(err))
	}
	return nil
}

// configFlags maps daemon.Config fields to the flags that set them, so that
// the daemon's own checks (daemon.ConfigError) read as flag errors.
var configFlags = map[string]string{
	"Socket":                 "socket",
	"Listen":                 "listen",
	"TLSCert":                "tls-cert",
	"TLSKey":                 "tls-key",
	"TLSClientCA":            "tls-client-ca",
	"TokenFile":              "token-file",
	"InsecureNoClientAuth":   "insecure-no-client-auth",
	"InsecureCleartextToken": "insecure-cleartext-token",
	"MaxTCPConns":            "max-tcp-conns",
	"TCPAuthTimeout":         "tcp-auth-timeout",
	"ExitIdle":               "exit-idle",
	"Pool.DrainTimeout":      "drain-timeout",
	"Pool.KillGrace":         "kill-grace",
}

// flagError rewrites a *daemon.ConfigError as an error that names the
// flag; other errors are returned as they are.
func flagError(err error) error {
	var ce *daemon.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	name, ok := configFlags[ce.Field]
	if !ok {
		return err
	}
	msg := ce.Problem
	for field, flag := range configFlags {
		msg = strings.ReplaceAll(msg, field, "--"+flag)
	}
	if ce.Err != nil {
		return fmt.Errorf("--%s: %s: %w", name, msg, ce.Err)
	}
	return fmt.Errorf("--%s: %s", name, msg)
}

// unwrapExec drops os/exec's repetition of the name ("exec: "x": ...") and
// keeps the reason.
func unwrapExec(err error) error {
	if ee, ok := err.(*exec.Error); ok {
		return ee.Err
	}
	return err
}
