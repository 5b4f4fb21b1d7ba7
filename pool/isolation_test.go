//go:build linux

package pool_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool"
)

// C3: every isolated call starts from the session's pristine state, however
// the previous call changed its shell.
func TestIsolation(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
	tmp := t.TempDir()
	change := `cd ` + tmp + `; export LEAK=1; SHELLVAR=1; set -o noglob; shopt -s extglob
alias leak='echo leaked'; leakfn() { echo leaked; }; trap 'echo trapped' EXIT
umask 077; ulimit -n 64; exit 0`
	wantExit(t, run(t, p, script(change)), 0)
	check := `echo "cwd=$PWD leak=${LEAK-} var=${SHELLVAR-} opts=$- umask=$(umask) nofile=$(ulimit -n)"
shopt -q extglob && echo extglob; type leakfn 2>/dev/null; alias leak 2>/dev/null; trap -p EXIT`
	o := run(t, p, script(check))
	for _, bad := range []string{tmp, "leak=1", "var=1", "umask=0077", "nofile=64", "extglob", "leakfn", "alias", "trapped"} {
		if strings.Contains(o.stdout, bad) {
			t.Errorf("state from the previous call is visible (%q):\n%s", bad, o.stdout)
		}
	}
	if !strings.Contains(o.stdout, "opts=hBc ") {
		t.Errorf("shell options differ from bash -c's (hBc):\n%s", o.stdout)
	}
}

// C3: the protocol's own names do not show in the call's shell.
func TestNoProtocolNamesVisible(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	o := run(t, p, script("set; declare -F; alias; trap -p"))
	for _, line := range strings.Split(o.stdout, "\n") {
		// BASH_EXECUTION_STRING is the script, as for bash -c.
		if strings.Contains(line, "__mt_") && !strings.HasPrefix(line, "BASH_EXECUTION_STRING") || strings.HasPrefix(line, "trap") {
			t.Errorf("visible protocol name: %.100s", line)
		}
	}
}

// Per-call directory and environment, and how the init script's changes
// combine with a caller's own environment.
func TestDirAndEnv(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, Init: "export FROM_INIT=yes; export PATH=/init/bin:$PATH"})
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)

	o := run(t, p, pool.Request{Script: "pwd", Dir: dir})
	if strings.TrimSpace(o.stdout) != dir {
		t.Errorf("Dir: pwd = %q", o.stdout)
	}
	o = run(t, p, pool.Request{Argv: []string{"pwd"}, BaseDir: dir, Dir: "sub"})
	if strings.TrimSpace(o.stdout) != filepath.Join(dir, "sub") {
		t.Errorf("relative Dir is not the caller's: pwd = %q", o.stdout)
	}
	_, err := tryRun(p, pool.Request{Script: "true", Dir: filepath.Join(dir, "missing")})
	var re *pool.RequestError
	if !errors.As(err, &re) || re.Kind != pool.NotFound || re.Field != "cwd" {
		t.Errorf("missing Dir: err %v, want NotFound on cwd", err)
	}

	o = run(t, p, pool.Request{Script: `echo "$FROM_INIT $CALLVAR"`, Env: []string{"CALLVAR=call"}})
	if o.stdout != "yes call\n" {
		t.Errorf("Env merged over the session's: %q", o.stdout)
	}
	// A caller's base environment replaces the session's; the init script's
	// changes (the values it left, here FROM_INIT and PATH) still apply over
	// it, then Env.
	sessionPath := strings.TrimSpace(run(t, p, script(`echo "$PATH"`)).stdout)
	if !strings.HasPrefix(sessionPath, "/init/bin:") {
		t.Fatalf("session PATH %q", sessionPath)
	}
	base := []string{"PATH=/usr/bin:/bin", "ONLYBASE=b", "FROM_INIT=base"}
	for _, req := range []pool.Request{
		{Script: `env`},
		{Argv: []string{"env"}},
	} {
		req.BaseEnv, req.HasBaseEnv, req.Env = base, true, []string{"X=1"}
		o = run(t, p, req)
		env := o.stdout
		for _, want := range []string{"ONLYBASE=b\n", "FROM_INIT=yes\n", "PATH=" + sessionPath + "\n", "X=1\n"} {
			if !strings.Contains(env, want) {
				t.Errorf("%q%q with BaseEnv: env lacks %q:\n%s", req.Argv, req.Script, want, env)
			}
		}
		if strings.Contains(env, "HOME=") {
			t.Errorf("%q%q with BaseEnv: the session's HOME leaked in:\n%s", req.Argv, req.Script, env)
		}
	}
}

func TestBadRequests(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	for _, tc := range []struct {
		req   pool.Request
		field string
		kind  pool.ErrKind
	}{
		{pool.Request{}, "argv", pool.Invalid},
		{pool.Request{Argv: []string{""}}, "argv[0]", pool.Invalid},
		{pool.Request{Argv: []string{"echo", "a\x00b"}}, "argv[1]", pool.Invalid},
		{pool.Request{Script: "echo \x00"}, "script", pool.Invalid},
		{pool.Request{Script: "true", Argv: []string{"true"}}, "script", pool.Invalid},
		{pool.Request{Script: "true", Env: []string{"1BAD=x"}}, "env[0]", pool.Invalid},
		{pool.Request{Script: "true", Env: []string{"NOEQUALS"}}, "env[0]", pool.Invalid},
		{pool.Request{Script: "true", Timeout: -1}, "timeout", pool.Invalid},
		{pool.Request{Script: "true", KillGrace: -1}, "kill_grace", pool.Invalid},
		{pool.Request{Script: "true", KillGrace: time.Hour}, "kill_grace", pool.Invalid},
		{pool.Request{Script: "true", Session: "bad name"}, "session", pool.Invalid},
		{pool.Request{Script: strings.Repeat("x", pool.DefaultMaxRequestBytes+1)}, "command", pool.TooLarge},
		{pool.Request{Argv: []string{"no-such-program-mothreads"}}, "argv[0]", pool.NotFound},
	} {
		_, err := tryRun(p, tc.req)
		var re *pool.RequestError
		if !errors.As(err, &re) || re.Field != tc.field || re.Kind != tc.kind {
			t.Errorf("%.40q%.40q: err %v, want %v on %q", tc.req.Argv, tc.req.Script, err, tc.kind, tc.field)
		}
	}
	// None of that poisoned the session.
	wantExit(t, run(t, p, script("echo fine")), 0)
}

// Sticky sessions keep state between calls; the caller's directory and
// environment apply when one is created, and later only when explicit.
func TestStickySession(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 3})
	dir, other := t.TempDir(), t.TempDir()
	first := pool.Request{Script: "X=kept; cd " + other + "; f() { echo fn; }", Session: "dev", BaseDir: dir}
	wantExit(t, run(t, p, first), 0)
	o := run(t, p, pool.Request{Script: `echo "$X $PWD"; f`, Session: "dev", BaseDir: dir})
	if o.stdout != "kept "+other+"\nfn\n" {
		t.Errorf("sticky state: %q", o.stdout)
	}
	o = run(t, p, pool.Request{Script: `echo "$PWD $E"`, Session: "dev", Dir: dir, Env: []string{"E=explicit"}})
	if o.stdout != dir+" explicit\n" {
		t.Errorf("explicit Dir and Env: %q", o.stdout)
	}
	// Another name is another session; an isolated call sees none of it.
	o = run(t, p, pool.Request{Script: `echo "${X-unset}"`, Session: "other"})
	if o.stdout != "unset\n" {
		t.Errorf("other sticky session: %q", o.stdout)
	}
	if o = run(t, p, script(`echo "${X-unset}"`)); o.stdout != "unset\n" {
		t.Errorf("isolated call: %q", o.stdout)
	}
	// exit ends the sticky session; the next call by that name starts afresh.
	o = run(t, p, pool.Request{Script: "exit 3", Session: "dev"})
	if o.ExitCode != 3 || !strings.Contains(o.Message, "ended") {
		t.Errorf("exit in a sticky session: %v", o.Result)
	}
	o = run(t, p, pool.Request{Script: `echo "${X-fresh}"`, Session: "dev"})
	if o.stdout != "fresh\n" {
		t.Errorf("after exit: %q", o.stdout)
	}
}

// A timeout in a sticky session ends the command, not the session: its
// state stays. Only a shell still busy after the kill (a loop of builtins
// runs in the shell itself) is killed, and the result says its state is
// lost; the name then starts afresh.
func TestStickyTimeout(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 3})
	wantExit(t, run(t, p, pool.Request{Script: "X=1", Session: "s"}), 0)
	o := run(t, p, pool.Request{Script: "sleep 300", Session: "s", Timeout: 200 * time.Millisecond})
	if !o.TimedOut || strings.Contains(o.Message, "state is lost") {
		t.Errorf("sticky timeout: %v", o.Result)
	}
	o = run(t, p, pool.Request{Script: `echo "${X-fresh}"`, Session: "s"})
	if o.stdout != "1\n" {
		t.Errorf("after the timeout: %q, want the state kept", o.stdout)
	}
	o = run(t, p, pool.Request{Script: "while :; do :; done", Session: "s", Timeout: 200 * time.Millisecond})
	if !o.TimedOut || !strings.Contains(o.Message, "state is lost") {
		t.Errorf("sticky timeout of a builtin loop: %v", o.Result)
	}
	o = run(t, p, pool.Request{Script: `echo "${X-fresh}"`, Session: "s"})
	if o.stdout != "fresh\n" {
		t.Errorf("after the lost session: %q", o.stdout)
	}
}
