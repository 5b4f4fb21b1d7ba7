package driver

import (
	"syscall"
	"testing"
)

// TestResultSuccess: only a command that exited 0 on its own succeeded; a
// command the pool timed out or cancelled did not, even if it exited 0 when
// asked to stop (as client.Result.Success says).
func TestResultSuccess(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Result
		want bool
	}{
		{"exit 0", Result{}, true},
		{"exit 1", Result{ExitCode: 1}, false},
		{"signal", Result{ExitCode: -1, Signal: syscall.SIGKILL}, false},
		{"session lost", Result{ExitCode: -1, SessionLost: true}, false},
		{"timed out, exited 0", Result{TimedOut: true}, false},
		{"cancelled, exited 0", Result{Cancelled: true}, false},
		{"timed out, killed", Result{ExitCode: -1, Signal: syscall.SIGTERM, TimedOut: true}, false},
	} {
		if got := tc.r.Success(); got != tc.want {
			t.Errorf("%s: Success() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestValidateNamesTheField: every refusal names the field at fault, with
// the daemon API's names.
func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		req   Request
		field string
		kind  ErrKind
	}{
		{Request{}, "argv", Invalid},
		{Request{Argv: []string{"x"}, Script: "x"}, "script", Invalid},
		{Request{Argv: []string{""}}, "argv[0]", Invalid},
		{Request{Argv: []string{"x", "a\x00b"}}, "argv[1]", Invalid},
		{Request{Script: "x", Dir: "a\x00"}, "cwd", Invalid},
		{Request{Script: "x", Session: "no/slash"}, "session", Invalid},
		{Request{Script: "x", Env: []string{"1X=y"}}, "env[0]", Invalid},
		{Request{Script: "x", BaseEnv: []string{"A=\x00"}}, "base_env.vars[0]", Invalid},
		{Request{Script: "x", Timeout: -1}, "timeout", Invalid},
		{Request{Script: "x", KillGrace: -1}, "kill_grace", Invalid},
		{Request{Script: "x", TTY: &WindowSize{}}, "tty", Invalid},
		{Request{Script: "0123456789"}, "command", TooLarge},
	} {
		err := tc.req.Validate(Limits{MaxRequestBytes: 8})
		re, ok := err.(*RequestError)
		if !ok || re.Field != tc.field || re.Kind != tc.kind {
			t.Errorf("%+v: %v, want a %v error for %q", tc.req, err, tc.kind, tc.field)
		}
	}
	if err := (&Request{Script: "true"}).Validate(Limits{}); err != nil {
		t.Errorf("a valid request: %v", err)
	}
}
