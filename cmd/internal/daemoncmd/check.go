package daemoncmd

import (
	"fmt"
	"os"
	"os/exec"
	"time"
)

// check refuses settings that contradict each other or name what is not
// there, with the flag in the message, before anything starts. The daemon
// makes the same checks again (its errors name its Config fields, which a
// user of mothreadsd never sees).
//
// Trap: the files are only looked at, not read; a file that exists but is
// unreadable or malformed still fails at start, with the daemon's message.
func (f *flags) check() error {
	if f.maxSessions > 0 && f.minIdle > f.maxSessions {
		return fmt.Errorf("--min-idle %d is over --max-sessions %d", f.minIdle, f.maxSessions)
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
	if err := f.checkTCP(); err != nil {
		return err
	}
	for _, file := range []struct{ name, path string }{
		{"tls-cert", f.tlsCert}, {"tls-key", f.tlsKey}, {"tls-client-ca", f.tlsCA}, {"token-file", f.tokenFile},
	} {
		if file.path == "" {
			continue
		}
		if fi, err := os.Stat(file.path); err != nil {
			return fmt.Errorf("--%s: %w", file.name, err)
		} else if fi.IsDir() {
			return fmt.Errorf("--%s %s: is a directory, want a file", file.name, file.path)
		}
	}
	return nil
}

// checkTCP checks that the TCP flags make sense together: TLS and token
// settings need --listen, and --listen needs TLS or a token.
func (f *flags) checkTCP() error {
	if f.listen == "" {
		for _, s := range []struct{ name, v string }{
			{"tls-cert", f.tlsCert}, {"tls-key", f.tlsKey}, {"tls-client-ca", f.tlsCA}, {"token-file", f.tokenFile},
		} {
			if s.v != "" {
				return fmt.Errorf("--%s without --listen: TLS and tokens apply to the TCP listener only", s.name)
			}
		}
		return nil
	}
	switch {
	case f.tlsCert != "" && f.tlsKey == "":
		return fmt.Errorf("--tls-cert without --tls-key")
	case f.tlsKey != "" && f.tlsCert == "":
		return fmt.Errorf("--tls-key without --tls-cert")
	case f.tlsCA != "" && f.tlsCert == "":
		return fmt.Errorf("--tls-client-ca needs --tls-cert and --tls-key")
	case f.tlsCert == "" && f.tokenFile == "":
		return fmt.Errorf("--listen %s: refusing TCP without --tls-cert/--tls-key or --token-file", f.listen)
	}
	return nil
}

// unwrapExec drops os/exec's repetition of the name ("exec: "x": ...") and
// keeps the reason.
func unwrapExec(err error) error {
	if ee, ok := err.(*exec.Error); ok {
		return ee.Err
	}
	return err
}
