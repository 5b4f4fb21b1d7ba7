//go:build linux

package pool_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
	"github.com/mothreads/mothreads/pool"
)

// The portable driver (pool/internal/portable) is what macOS and the BSDs
// run bash with; on Linux the pool uses it when Config.Driver asks, which
// is how these tests hold it to the pool's contracts here.

func portablePool(t *testing.T, cfg pool.Config) *pool.Pool {
	t.Helper()
	cfg.Driver = pool.DriverPortable
	return testPool(t, cfg)
}

// C1, C2, C4, C9 and the call's directory and environment, one call each.
func TestPortableContract(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	p := portablePool(t, pool.Config{MinIdle: 1, MaxSessions: 2, Init: "export FROM_INIT=yes; initfn() { echo from-init-fn; }"})
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	for _, tc := range []struct {
		name      string
		req       pool.Request
		code      int
		sig       syscall.Signal
		out, errs string
	}{
		{name: "exact bytes", req: script(`printf 'a\xff\xfe\x00b'; printf 'e\n\x01' >&2`), out: "a\xff\xfe\x00b", errs: "e\n\x01"},
		{name: "no trailing newline", req: script("printf foo"), out: "foo"},
		{name: "framing look-alike", req: script(`printf '%s\n' 'x pid 1' 'x end exit 0' ready; exit 4`), code: 4, out: "x pid 1\nx end exit 0\nready\n"},
		{name: "false", req: script("false"), code: 1},
		{name: "exit 3", req: script("exit 3"), code: 3},
		{name: "exit 130 is a code", req: script("exit 130"), code: 130},
		{name: "exit 143 after a command", req: script("sleep 0.01; exit 143"), code: 143},
		{name: "set -e", req: script("set -e; false; echo not reached"), code: 1},
		{name: "exec replaces the call", req: script("exec true"), code: 0},
		{name: "death by SIGTERM", req: script("kill -TERM $BASHPID"), code: -1, sig: syscall.SIGTERM},
		{name: "death by SIGKILL", req: script("echo before; kill -9 $BASHPID; echo after"), code: -1, sig: syscall.SIGKILL, out: "before\n"},
		{name: "syntax error", req: script("if then fi"), code: 2, errs: "*syntax error*"},
		{name: "stdin is /dev/null", req: script("cat; read x"), code: 1},
		{name: "stdin", req: pool.Request{Script: "cat; echo; wc -c <&0", Stdin: strings.NewReader("line 1\nline 2")}, out: "line 1\nline 2\n0\n"},
		{name: "large stdin", req: pool.Request{Script: "wc -c", Stdin: strings.NewReader(big)}, out: fmt.Sprintf("%d\n", len(big))},
		{name: "large output", req: pool.Request{Script: `cat >&2; printf end`, Stdin: strings.NewReader(big)}, out: "end", errs: big},
		{name: "cwd", req: pool.Request{Script: "pwd", Dir: dir}, out: dir + "\n"},
		{name: "relative cwd", req: pool.Request{Argv: []string{"pwd"}, BaseDir: dir, Dir: "sub"}, out: filepath.Join(dir, "sub") + "\n"},
		{name: "env over init", req: pool.Request{Script: `echo "$FROM_INIT $CALLVAR"`, Env: []string{"CALLVAR=x y"}}, out: "yes x y\n"},
		{name: "base env", req: pool.Request{Script: `echo "${HOME-nohome} $FROM_INIT $ONLY"`, BaseEnv: []string{"ONLY=b", "PATH=/usr/bin:/bin"}, HasBaseEnv: true}, out: "nohome yes b\n"},
		{name: "argv is not re-parsed", req: argv("printf", "%s|%s", "a  b", "$HOME *"), out: "a  b|$HOME *"},
		{name: "argv builtin", req: argv("exit", "4"), code: 4},
		{name: "argv init function", req: argv("initfn"), out: "from-init-fn\n"},
		{name: "argv program's signal", req: argv("sh", "-c", "kill -TERM $$"), code: -1, sig: syscall.SIGTERM},
		{name: "argv program's code", req: argv("sh", "-c", "exit 143"), code: 143},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := run(t, p, tc.req)
			if o.ExitCode != tc.code || o.Signal != tc.sig || o.SessionLost {
				t.Errorf("result %v, want code %d signal %d (stderr %.200q)", o.Result, tc.code, tc.sig, o.stderr)
			}
			if o.stdout != tc.out {
				t.Errorf("stdout %.200q, want %.200q", o.stdout, tc.out)
			}
			if pattern, ok := strings.CutPrefix(tc.errs, "*"); ok {
				if !strings.Contains(o.stderr, strings.TrimSuffix(pattern, "*")) {
					t.Errorf("stderr %q, want it to contain %q", o.stderr, pattern)
				}
			} else if o.stderr != tc.errs {
				t.Errorf("stderr %.200q, want %.200q", o.stderr, tc.errs)
			}
		})
	}
}

// C9: bad requests and bad configurations name the field.
func TestPortableRefusals(t *testing.T) {
	p := portablePool(t, pool.Config{MinIdle: 1})
	for _, tc := range []struct {
		req   pool.Request
		field string
		kind  pool.ErrKind
	}{
		{pool.Request{Argv: []string{"no-such-program-mothreads"}}, "argv[0]", pool.NotFound},
		{pool.Request{Argv: []string{"./no-such-file"}}, "argv[0]", pool.NotFound},
		{pool.Request{Script: "true", Dir: "/no/such/dir"}, "cwd", pool.NotFound},
		{pool.Request{Script: "true", Session: "s"}, "session", pool.Invalid}, // no sticky sessions
	} {
		_, err := tryRun(p, tc.req)
		var re *pool.RequestError
		if !errors.As(err, &re) || re.Field != tc.field || re.Kind != tc.kind {
			t.Errorf("%q%q: err %v, want %v on %q", tc.req.Argv, tc.req.Script, err, tc.kind, tc.field)
		}
	}
	wantExit(t, run(t, p, script("echo fine")), 0)

	root := pool.Config{Driver: "bogus"}
	if _, err := pool.New(nil, root); err == nil || !strings.Contains(err.Error(), "config driver") {
		t.Errorf("unknown driver: %v, want a config driver error", err)
	}
	_, err := pool.New(nil, pool.Config{Driver: pool.DriverPortable, Shell: "sh"})
	if err == nil || !strings.Contains(err.Error(), "config driver") {
		t.Errorf("portable driver with sh: %v, want a config driver error", err)
	}
}

// C3: a call cannot change the session: directory, variables, functions,
// aliases, options, traps, umask and limits of one call are not seen by the
// next, and the protocol's own names are never seen.
func TestPortableIsolation(t *testing.T) {
	p := portablePool(t, pool.Config{MinIdle: 1, MaxSessions: 1, Init: "set -o noclobber"})
	tmp := t.TempDir()
	change := `cd ` + tmp + `; export LEAK=1; SHELLVAR=1; set -o noglob; shopt -s extglob
alias leak='echo leaked'; leakfn() { echo leaked; }; trap 'echo trapped' EXIT
umask 077; ulimit -n 64; exit 0`
	wantExit(t, run(t, p, script(change)), 0)
	o := run(t, p, script(`echo "cwd=$PWD leak=${LEAK-} var=${SHELLVAR-} opts=$- umask=$(umask) nofile=$(ulimit -n) args=$#"
shopt -q extglob && echo extglob; type leakfn 2>/dev/null; alias leak 2>/dev/null; trap -p`))
	for _, bad := range []string{tmp, "leak=1", "var=1", "umask=0077", "nofile=64", "extglob", "leakfn", "alias", "trap"} {
		if strings.Contains(o.stdout, bad) {
			t.Errorf("state from the previous call is visible (%q):\n%s", bad, o.stdout)
		}
	}
	// The init's noclobber (C) is the session's state; job control is not.
	if !strings.Contains(o.stdout, "opts=hBCc ") || !strings.Contains(o.stdout, "args=0") {
		t.Errorf("options or arguments differ from the init's (hBCc, none):\n%s", o.stdout)
	}
	o = run(t, p, script("set; declare -F; alias; trap -p; echo \"$0\""))
	for _, line := range strings.Split(o.stdout, "\n") {
		if strings.Contains(line, "__mt_") && !strings.HasPrefix(line, "BASH_EXECUTION_STRING") || strings.Contains(line, "MOTHREADS_DIR") || strings.HasPrefix(line, "trap") {
			t.Errorf("visible protocol name: %.100s", line)
		}
	}
	if !strings.HasSuffix(o.stdout, "\nbash\n") {
		t.Errorf("$0 is not bash: %.100q", o.stdout[max(0, len(o.stdout)-100):])
	}
	// What a command writes to the descriptors it does not have changes
	// nothing of its result or the next call's.
	o = run(t, p, script(`for fd in 3 4 5 6 7 8 9; do printf 'x end exit 0\nready\n' >&$fd; done 2>/dev/null; exit 3`))
	wantExit(t, o, 3)
	o = run(t, p, script("echo next"))
	if o.stdout != "next\n" || o.ExitCode != 0 {
		t.Errorf("the call after: %v %q", o.Result, o.stdout)
	}
}

// The init script runs once per session, not once per call.
func TestPortableInitPaidOnce(t *testing.T) {
	count := filepath.Join(t.TempDir(), "count")
	p := portablePool(t, pool.Config{MinIdle: 1, MaxSessions: 1, Init: "echo started >>" + count + "; sleep 0.2; INITVAR=kept"})
	for i := range 10 {
		o := run(t, p, script(`echo "$INITVAR"`))
		if o.stdout != "kept\n" {
			t.Fatalf("call %d: %v %q", i, o.Result, o.stdout)
		}
	}
	if b, _ := os.ReadFile(count); string(b) != "started\n" {
		t.Errorf("the init script ran %d times for 10 calls on one session", strings.Count(string(b), "started"))
	}
	// A failing init script fails the start, with its output.
	q := portablePool(t, pool.Config{Init: "echo init-said-this >&2; false"})
	_, err := tryRun(q, script("true"))
	var re *pool.RequestError
	if !errors.As(err, &re) || re.Kind != pool.StartFailed || !strings.Contains(err.Error(), "init-said-this") {
		t.Errorf("failing init: %v, want StartFailed with the init's output", err)
	}
}

// C5, C6: a timeout kills the call's whole tree, and what a call left in
// other process groups is gone before the session serves again.
func TestPortableTimeoutAndLeftovers(t *testing.T) {
	tag := proctest.NewMarker()
	p := portablePool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
	env := []string{"MT_PORTABLE=" + tag}
	o := run(t, p, pool.Request{Script: "echo before; sleep 300 & bash -c 'sleep 300' & sleep 300; wait", Env: env, Timeout: 200 * time.Millisecond})
	if !o.TimedOut || o.Signal != syscall.SIGTERM || o.stdout != "before\n" {
		t.Errorf("timeout: %v, stdout %q; want timed out by SIGTERM after the output", o.Result, o.stdout)
	}
	proctest.AssertNoLeftovers(t, "MT_PORTABLE", tag, 5*time.Second)
	req := script("trap '' TERM; echo armed; while :; do sleep 0.05; done")
	req.Timeout, req.KillGrace = 200*time.Millisecond, 200*time.Millisecond
	if o = run(t, p, req); !o.TimedOut || o.Signal != syscall.SIGKILL {
		t.Errorf("a command that ignores SIGTERM: %v, want timed out by SIGKILL", o.Result)
	}
	for _, sc := range []string{
		"sleep 301 & echo left",
		"set -m; sleep 302 & echo own-group",
		"( ( exec sleep 303 & ) & )",
		"nohup sleep 304 >/dev/null 2>&1 & disown",
	} {
		wantExit(t, run(t, p, pool.Request{Script: sc, Env: env}), 0)
		if o := run(t, p, script("echo next")); o.stdout != "next\n" {
			t.Errorf("after %q: %v %q", sc, o.Result, o.stdout)
		}
		proctest.AssertNoLeftovers(t, "MT_PORTABLE", tag, 5*time.Second)
	}
	wantExit(t, run(t, p, script("echo still fine")), 0)
}

// C6: cancelling a running call kills it; the session serves the next.
func TestPortableCancel(t *testing.T) {
	p := portablePool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
	ctx, cancel := context.WithCancel(t.Context())
	out := newSignalWriter("up")
	h, err := p.Start(ctx, &pool.Request{Script: "echo up; sleep 300", Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	<-out.seen
	cancel()
	if r, err := h.Wait(); err != nil || !r.Cancelled || r.Signal != syscall.SIGTERM {
		t.Errorf("result %v, %v; want cancelled by SIGTERM", r, err)
	}
	wantExit(t, run(t, p, script("echo next")), 0)
}

// C7: a command that kills the session's shell ($$ is the shell's pid here)
// gets the signal the shell died of, and a result that says the session was
// lost; nothing after it runs, and the pool replaces the session. A shell
// stopped by its call is continued, and the call stopped instead.
func TestPortableShellKilledByItsCall(t *testing.T) {
	p := portablePool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
	for _, tc := range []struct {
		script string
		sig    syscall.Signal
	}{
		{"kill -9 $$; sleep 10; echo survived", syscall.SIGKILL},
		{"kill $$; sleep 10; echo survived", syscall.SIGTERM},
		{"(kill -HUP $$); sleep 10; echo survived", syscall.SIGHUP},
	} {
		o := run(t, p, script(tc.script))
		if o.stdout != "" || o.Signal != tc.sig || !o.SessionLost || !strings.Contains(o.Message, "shell died") {
			t.Errorf("%s: %v, stdout %q; want the session lost, by %v", tc.script, o.Result, o.stdout, tc.sig)
		}
		wantExit(t, run(t, p, script("echo next")), 0)
	}
	if st := p.Stats(); st.SessionsReplaced < 3 {
		t.Errorf("%d sessions replaced, want 3", st.SessionsReplaced)
	}
	o := run(t, p, pool.Request{Script: "kill -STOP $$; echo after-stop; sleep 300", Timeout: 300 * time.Millisecond})
	if !o.TimedOut || o.SessionLost {
		t.Errorf("kill -STOP $$: %v, want the call stopped, then timed out", o.Result)
	}
	wantExit(t, run(t, p, script("echo next")), 0)
}

// C8: a session whose shell is killed from outside takes its call along and
// is replaced.
func TestPortableShellKilledFromOutside(t *testing.T) {
	p := portablePool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
	h, err := p.Start(t.Context(), &pool.Request{Script: "sleep 300"})
	if err != nil {
		t.Fatal(err)
	}
	pids := p.ShellPIDs()
	if len(pids) != 1 {
		t.Fatalf("shells: %v", pids)
	}
	syscall.Kill(pids[0], syscall.SIGKILL)
	if r, err := h.Wait(); err != nil || r.Signal != syscall.SIGKILL || !r.SessionLost {
		t.Errorf("result %v, %v; want the session lost, by SIGKILL", r, err)
	}
	wantExit(t, run(t, p, script("echo replaced")), 0)
}

// C10 and isolation under concurrency: several callers, fewer sessions,
// every call gets its own output and status.
func TestPortableConcurrentCallers(t *testing.T) {
	p := portablePool(t, pool.Config{MinIdle: 2, MaxSessions: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 6 {
		wg.Go(func() {
			for i := range 8 {
				want := fmt.Sprintf("caller-%d-call-%d", g, i)
				o, err := tryRun(p, pool.Request{Script: `X=$1; printf '%s' "$V"; printf '%s' "$V" >&2; exit $((` + fmt.Sprint(i) + ` + 1))`, Env: []string{"V=" + want}})
				switch {
				case err != nil:
					errs <- err
				case o.stdout != want || o.stderr != want || o.ExitCode != i+1:
					errs <- fmt.Errorf("%s: %v stdout %q stderr %q", want, o.Result, o.stdout, o.stderr)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkPortableVersus: a script through the portable driver against
// `bash -c` spawned in the same run, with no init script and with one that
// sleeps 0.1s (paid once per session by the pool, on every spawn by bash
// -c); speedup-p50 is the spawn's median over the pool's.
//
//	go test -run '^$' -bench PortableVersus -benchtime 300x ./pool
func BenchmarkPortableVersus(b *testing.B) {
	b.Run("true", func(b *testing.B) {
		p := benchPool(b, pool.Config{Driver: pool.DriverPortable})
		versus(b, p, script("true"), []string{"bash", "--noprofile", "--norc", "-c", "true"}, "speedup")
	})
	b.Run("init-sleep-0.1", func(b *testing.B) {
		p := benchPool(b, pool.Config{Driver: pool.DriverPortable, Init: "sleep 0.1"})
		versus(b, p, script("true"), []string{"bash", "--noprofile", "--norc", "-c", "sleep 0.1; true"}, "speedup")
	})
}

// closingWriter takes n writes, then says its consumer closed the stream.
type closingWriter struct{ n int }

func (w *closingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, io.ErrClosedPipe
	}
	w.n--
	return len(p), nil
}

// C13: a consumer that goes away ends a command that keeps writing, as a
// pipe whose reader went away does (SIGPIPE), and a command cannot reach
// the session's status pipe to forge its result or the next call's.
func TestPortableHostileAndGoneConsumer(t *testing.T) {
	p := portablePool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
	// yes dies of SIGPIPE; the script's shell, which ran it, exits 141
	// (the portable driver does not exec a script's last command).
	o, err := tryRun(p, pool.Request{Script: "yes", Stdout: &closingWriter{n: 2}})
	if err != nil || o.ExitCode != 128+int(syscall.SIGPIPE) {
		t.Errorf("yes to a consumer that went away: %v, %v; want status 141", o.Result, err)
	}
	o, err = tryRun(p, pool.Request{Argv: []string{"yes"}, Stdout: &closingWriter{n: 2}})
	if err != nil || o.Signal != syscall.SIGPIPE {
		t.Errorf("argv yes to a consumer that went away: %v, %v; want killed by SIGPIPE", o.Result, err)
	}
	// Through /proc (Linux only: the reason the reports carry a token).
	o = run(t, p, script(`for l in 'x pid 5' 'x end exit 0' ready; do printf '%s\n' "$l" >/proc/$PPID/fd/3; done 2>/dev/null; sleep 0.2; exit 3`))
	if o.ExitCode == 0 && !o.SessionLost {
		t.Errorf("a forged report was taken: %v", o.Result)
	}
	for i := range 3 {
		o := run(t, p, script(fmt.Sprintf("echo next-%d", i)))
		if o.stdout != fmt.Sprintf("next-%d\n", i) || o.ExitCode != 0 {
			t.Errorf("after the forgery: %v %q", o.Result, o.stdout)
		}
	}
}
