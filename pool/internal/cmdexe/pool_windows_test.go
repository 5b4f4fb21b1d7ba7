//go:build windows

package cmdexe_test

// Tests of the cmd.exe driver through a pool. They need Windows; they
// compile everywhere with GOOS=windows go vet, but have not run yet (see
// the package doc).

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/threads"
)

func winPool(t *testing.T, cfg pool.Config) *pool.Pool {
	t.Helper()
	root := threads.NewRoot("test")
	p, err := pool.New(root, cfg)
	if err != nil {
		root.Stop()
		root.Join()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		root.Stop()
		root.Join()
	})
	return p
}

type winOutcome struct {
	*pool.Result
	stdout, stderr string
}

func winRun(t *testing.T, p *pool.Pool, req pool.Request) (winOutcome, error) {
	t.Helper()
	var out, errb bytes.Buffer
	req.Stdout, req.Stderr = &out, &errb
	r, err := p.Run(context.Background(), &req)
	return winOutcome{r, out.String(), errb.String()}, err
}

func winField(err error) string {
	var re *pool.RequestError
	if errors.As(err, &re) {
		return re.Field
	}
	return "(not a pool.RequestError)"
}

func TestCmdWindowsRun(t *testing.T) {
	p := winPool(t, pool.Config{MinIdle: 1})
	for _, tc := range []struct {
		req            pool.Request
		stdout, stderr string
		code           int
	}{
		{req: pool.Request{Script: `echo hello& (echo err)>&2& exit /b 3`}, stdout: "hello\r\n", stderr: "err\r\n", code: 3},
		{req: pool.Request{Script: "echo one\necho two\nexit /b 4"}, stdout: "one\r\ntwo\r\n", code: 4},
		{req: pool.Request{Script: "for %i in (a b) do @echo %i"}, stdout: "a\r\nb\r\n"},
		{req: pool.Request{Script: "@echo off\nfor %%i in (a b) do echo %%i"}, stdout: "a\r\nb\r\n"},
		{req: pool.Request{Script: "<nul set /p =no newline& exit /b 0"}, stdout: "no newline"},
		{req: pool.Request{Argv: []string{"echo", "a", "b c"}}, stdout: "a \"b c\"\r\n"},
		{req: pool.Request{Argv: []string{"cmd", "/d", "/c", "exit 7"}}, code: 7},
		{req: pool.Request{Argv: []string{"findstr", "x"}, Stdin: strings.NewReader("ax\r\nb\r\n")}, stdout: "ax\r\n"},
		{req: pool.Request{Script: "exit /b 0"}},
	} {
		o, err := winRun(t, p, tc.req)
		if err != nil {
			t.Errorf("%q%q: %v", tc.req.Argv, tc.req.Script, err)
			continue
		}
		if o.stdout != tc.stdout || o.stderr != tc.stderr || o.ExitCode != tc.code || o.Signal != 0 {
			t.Errorf("%q%q: stdout %q stderr %q, %v; want %q %q exit %d",
				tc.req.Argv, tc.req.Script, o.stdout, o.stderr, o.Result, tc.stdout, tc.stderr, tc.code)
		}
	}
}

func TestCmdWindowsRefused(t *testing.T) {
	p := winPool(t, pool.Config{})
	for _, tc := range []struct {
		req   pool.Request
		field string
	}{
		{pool.Request{Argv: []string{"mothreads-no-such-program"}}, "argv[0]"},
		{pool.Request{Argv: []string{"echo", "ok", "100%"}}, "argv[2]"},
		{pool.Request{Script: "echo", Dir: `C:\mothreads\no\such\dir`}, "cwd"},
		{pool.Request{Script: "echo", Session: "sticky"}, "session"},
		{pool.Request{Script: "echo", TTY: &pool.WindowSize{Rows: 24, Cols: 80}}, "tty"},
	} {
		if _, err := winRun(t, p, tc.req); winField(err) != tc.field {
			t.Errorf("%q%q: err %v, want a pool.RequestError for field %q", tc.req.Argv, tc.req.Script, err, tc.field)
		}
	}
	if o, err := winRun(t, p, pool.Request{Script: "echo still fine"}); err != nil || o.stdout != "still fine\r\n" {
		t.Errorf("after refusals: %q, %v", o.stdout, err)
	}
}

func TestCmdWindowsInitAndEnv(t *testing.T) {
	t.Setenv("MT_BASE", "base")
	t.Setenv("MT_GONE", "here")
	p := winPool(t, pool.Config{Init: "set MT_FOO=bar\r\nset MT_GONE=\r\ncd /d %TEMP%\r\n", MinIdle: 1})
	o, err := winRun(t, p, pool.Request{Script: "echo %MT_FOO%/%MT_BASE%/%MT_GONE%"})
	if err != nil || o.stdout != "bar/base/%MT_GONE%\r\n" {
		t.Errorf("init's environment: %q, %v", o.stdout, err)
	}
	o, err = winRun(t, p, pool.Request{Script: "echo %mt_foo%", Env: []string{"MT_FOO=call"}})
	if err != nil || o.stdout != "call\r\n" {
		t.Errorf("call's environment over init's: %q, %v", o.stdout, err)
	}
	o, err = winRun(t, p, pool.Request{Script: "echo %MT_FOO%/%MT_BASE%/%MT_CALLER%", HasBaseEnv: true,
		BaseEnv: append(os.Environ(), "MT_CALLER=caller", "MT_BASE=caller's")})
	if err != nil || o.stdout != "bar/caller's/caller\r\n" {
		t.Errorf("base environment: %q, %v", o.stdout, err)
	}
	o, err = winRun(t, p, pool.Request{Script: "cd"})
	if want := strings.TrimRight(os.Getenv("TEMP"), `\`); err != nil || !strings.EqualFold(strings.TrimSpace(o.stdout), want) {
		t.Errorf("init's directory: %q, %v; want %q", o.stdout, err, want)
	}
	dir := t.TempDir()
	o, err = winRun(t, p, pool.Request{Script: "cd", Dir: dir})
	if err != nil || !strings.EqualFold(strings.TrimSpace(o.stdout), dir) {
		t.Errorf("call's directory: %q, %v; want %q", o.stdout, err, dir)
	}
	// Isolation: a call's changes are gone in the next call.
	winRun(t, p, pool.Request{Script: "set MT_FOO=changed& cd \\"})
	o, err = winRun(t, p, pool.Request{Script: "echo %MT_FOO%"})
	if err != nil || o.stdout != "bar\r\n" {
		t.Errorf("isolation: %q, %v", o.stdout, err)
	}
}

func TestCmdWindowsInitFails(t *testing.T) {
	p := winPool(t, pool.Config{Init: "echo broken init\r\nexit /b 5"})
	_, err := winRun(t, p, pool.Request{Script: "echo never"})
	var re *pool.RequestError
	if !errors.As(err, &re) || re.Kind != pool.StartFailed || !strings.Contains(err.Error(), "status 5") || !strings.Contains(err.Error(), "broken init") {
		t.Errorf("err = %v, want a start failure with the status and the init's output", err)
	}
}

// C6, C5, C8: a timeout ends the whole tree at once, and so does the end of
// the main process for what it left behind.
func TestCmdWindowsTimeoutAndLeftovers(t *testing.T) {
	p := winPool(t, pool.Config{MinIdle: 1})
	start := time.Now()
	o, err := winRun(t, p, pool.Request{Script: "start /b ping -n 60 127.0.0.1 >nul & ping -n 60 127.0.0.1 >nul", Timeout: 500 * time.Millisecond})
	if err != nil || !o.TimedOut || o.ExitCode != proc.KilledExitCode || time.Since(start) > 20*time.Second {
		t.Errorf("timeout: %v, %v after %v", o.Result, err, time.Since(start))
	}
	start = time.Now()
	o, err = winRun(t, p, pool.Request{Script: "start /b ping -n 60 127.0.0.1 & echo left"})
	if err != nil || !strings.HasPrefix(o.stdout, "left") || time.Since(start) > 20*time.Second {
		t.Errorf("leftovers: %q, %v, %v after %v", o.stdout, o.Result, err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	r, err := p.Run(ctx, &pool.Request{Script: "ping -n 60 127.0.0.1 >nul"})
	if err != nil || !r.Cancelled {
		t.Errorf("cancel: %v, %v", r, err)
	}
}
