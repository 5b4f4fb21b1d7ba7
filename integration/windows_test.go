//go:build windows

package integration

// End-to-end tests of the Windows binaries: mothreadsd.exe serving cmd.exe
// sessions and mothreads.exe calling it, as a user would. CI runs them under
// Wine 8 (.ci/windows), which has no AF_UNIX sockets, so the daemon serves
// on TCP (127.0.0.1, a token) there; the CLI calls it with --address and
// --token-file either way.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/internal/proctest"
)

// winHelperEnv, when set, makes the test binary a helper program (see
// runWinHelper) instead of running tests.
const winHelperEnv = "MOTHREADS_WINDOWS_TEST_HELPER"

// winToken is the bearer token of the tests' daemons.
const winToken = "windows-e2e-token-0123456789abcdef"

// callTimeout bounds every run of mothreads.exe.
const callTimeout = 2 * time.Minute

// Windows tests drive whole binaries through real process starts (slow
// under Wine): each one gets its own short-lived daemon, or shares one.

// winDaemon is a mothreadsd.exe the test started.
type winDaemon struct {
	cmd   *exec.Cmd
	log   *proctest.Buffer // its stderr
	done  chan struct{}    // closed when it has exited
	addr  string
	token string // the token file
}

// startWinDaemon starts mothreadsd.exe on a socket in dir and on a loopback
// port, with the token, and waits until it is ready. The test's cleanup kills
// it if it still runs.
func startWinDaemon(t *testing.T, dir string, args ...string) *winDaemon {
	t.Helper()
	d := &winDaemon{log: &proctest.Buffer{}, done: make(chan struct{}), token: filepath.Join(dir, "token")}
	if err := os.WriteFile(d.token, []byte(winToken+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--socket", filepath.Join(dir, "d.sock"), "--listen", "127.0.0.1:0", "--token-file", d.token,
		"--min-idle", "1", "--drain-timeout", "1s", "--log-level", "debug"}, args...)
	d.cmd = exec.Command(winBin.mothreadsd, args...)
	d.cmd.Stderr = d.log
	d.cmd.Dir = dir
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log.String())
		}
	})
	// Until its pool is warm, the daemon's health says NOT_SERVING, and the
	// client's health checking fails calls at once.
	for _, s := range []string{"msg=serving", "ready: the pool is warm"} {
		if !d.log.WaitFor(s, time.Minute, d.done) {
			t.Fatalf("the daemon did not get ready:\n%s", d.log.String())
		}
	}
	m := regexp.MustCompile(`msg=serving .*listen=(\S+)`).FindStringSubmatch(d.log.String())
	if m == nil {
		t.Fatalf("no TCP address in the log:\n%s", d.log.String())
	}
	d.addr = m[1]
	return d
}

// cli is one run of mothreads.exe.
type cli struct {
	args   []string
	env    []string // added to the test's environment
	dir    string
	stdin  io.Reader
	stdout io.Writer // nil: collected in the outcome
}

type cliOutcome struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// run runs mothreads.exe SUBCOMMAND --address ADDR --token-file FILE
// ARGS... against d and waits for it.
func (d *winDaemon) run(t *testing.T, c cli) cliOutcome {
	t.Helper()
	o, err := d.runCLI(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// runCLI is run for any goroutine: it fails no test itself. Ending ctx
// kills mothreads.exe.
func (d *winDaemon) runCLI(ctx context.Context, c cli) (cliOutcome, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	args := append([]string{c.args[0], "--address", d.addr, "--token-file", d.token}, c.args[1:]...)
	cmd := exec.CommandContext(ctx, winBin.mothreads, args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Dir, cmd.Stdin = c.dir, c.stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	}
	start := time.Now()
	err := cmd.Run()
	o := cliOutcome{stdout: out.String(), stderr: errb.String(), code: -1, took: time.Since(start)}
	if cmd.ProcessState != nil {
		o.code = cmd.ProcessState.ExitCode()
	}
	if err != nil && (cmd.ProcessState == nil || cmd.ProcessState.ExitCode() < 0) {
		return o, fmt.Errorf("mothreads %q: %v", c.args, err)
	}
	return o, nil
}

// processesNamed returns the PIDs of the running processes whose program
// is name (such as "PING.EXE"), compared without regard to case.
func processesNamed(t *testing.T, name string) []uint32 {
	t.Helper()
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(snap)
	var pids []uint32
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		if strings.EqualFold(windows.UTF16ToString(e.ExeFile[:]), name) {
			pids = append(pids, e.ProcessID)
		}
	}
	return pids
}

// assertGone fails the test unless process pid has exited or exits within
// a bound (a wait on the process, not a sleep).
func assertGone(t *testing.T, what string, pid int) {
	t.Helper()
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return // no such process any more
	}
	defer windows.CloseHandle(h)
	if ev, err := windows.WaitForSingleObject(h, 10_000); ev != windows.WAIT_OBJECT_0 {
		t.Errorf("%s (pid %d) still runs: %v", what, pid, err)
	}
}

// treeLine is what the "tree" helper prints once it and its child run.
var treeLine = regexp.MustCompile(`(\d+) (\d+)\r?\n`)

// waitTree waits until out holds the tree helper's line and returns its
// two PIDs.
func waitTree(t *testing.T, out *proctest.Buffer, exited <-chan struct{}) (parent, child int) {
	t.Helper()
	if !out.WaitFor("\n", time.Minute, exited) {
		t.Fatalf("the tree helper printed %q", out.String())
	}
	m := treeLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the tree helper printed %q", out.String())
	}
	fmt.Sscan(m[1], &parent)
	fmt.Sscan(m[2], &child)
	return parent, child
}

func TestWindowsExec(t *testing.T) {
	dir := winTempDir(t)
	d := startWinDaemon(t, dir, "--init", "set MT_INIT=from-init")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("script status", func(t *testing.T) {
		o := d.run(t, cli{args: []string{"exec", "-c", "echo hi & exit /b 3"}})
		if strings.TrimSpace(o.stdout) != "hi" || o.code != 3 {
			t.Errorf("got %q %q, status %d; want hi and 3", o.stdout, o.stderr, o.code)
		}
	})
	t.Run("argv", func(t *testing.T) {
		o := d.run(t, cli{args: []string{"exec", "--", "cmd", "/d", "/c", "echo argv& exit 7"}})
		if o.stdout != "argv\r\n" || o.code != 7 {
			t.Errorf("got %q %q, status %d; want argv and 7", o.stdout, o.stderr, o.code)
		}
	})
	t.Run("stdin exact", func(t *testing.T) {
		in := bytes.Repeat([]byte("\x00\xff bytes\r\nno line end"), 10000)
		o := d.run(t, cli{args: []string{"exec", "-i", "--", self}, env: []string{winHelperEnv + "=cat"}, stdin: bytes.NewReader(in)})
		if o.stdout != string(in) || o.code != 0 {
			t.Errorf("cat: %d bytes back of %d (equal: %v), %q, status %d", len(o.stdout), len(in), o.stdout == string(in), o.stderr, o.code)
		}
		o = d.run(t, cli{args: []string{"exec", "-i", "-c", "set /p L=& call echo got %L%"}, stdin: strings.NewReader("hello\r\n")})
		if o.stdout != "got hello\r\n" || o.code != 0 {
			t.Errorf("set /p: %q %q, status %d", o.stdout, o.stderr, o.code)
		}
	})
	t.Run("env and init", func(t *testing.T) {
		o := d.run(t, cli{args: []string{"exec", "--env", "MT_FLAG=from-flag", "-c", "echo %MT_FLAG% %MT_CALLER% %MT_INIT%"}, env: []string{"MT_CALLER=from-caller"}})
		if o.stdout != "from-flag from-caller from-init\r\n" || o.code != 0 {
			t.Errorf("got %q %q, status %d", o.stdout, o.stderr, o.code)
		}
		o = d.run(t, cli{args: []string{"exec", "--clean-env", "-c", "echo [%MT_CALLER%]"}, env: []string{"MT_CALLER=from-caller"}})
		if o.stdout != "[%MT_CALLER%]\r\n" {
			t.Errorf("--clean-env: %q %q, status %d", o.stdout, o.stderr, o.code)
		}
	})
	t.Run("cwd", func(t *testing.T) {
		sub := filepath.Join(dir, "sub dir")
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(sub)
		o := d.run(t, cli{args: []string{"exec", "--cwd", sub, "-c", "cd"}})
		if !strings.EqualFold(o.stdout, sub+"\r\n") {
			t.Errorf("--cwd: %q %q, want %q", o.stdout, o.stderr, sub)
		}
		o = d.run(t, cli{args: []string{"exec", "-c", "cd"}, dir: sub})
		if !strings.EqualFold(o.stdout, sub+"\r\n") {
			t.Errorf("the caller's directory: %q %q, want %q", o.stdout, o.stderr, sub)
		}
	})
	t.Run("timeout kills the tree", func(t *testing.T) {
		o := d.run(t, cli{args: []string{"exec", "--timeout", "2s", "-c", "ping -n 30 127.0.0.1 >nul"}})
		if o.code != 124 || o.took > 25*time.Second {
			t.Errorf("status %d after %v (%q); want 124 well before ping's 30s", o.code, o.took, o.stderr)
		}
		if pids := processesNamed(t, "ping.exe"); len(pids) != 0 {
			t.Errorf("ping.exe still runs after the timeout: %v", pids)
		}
	})
	t.Run("json and status", func(t *testing.T) {
		o := d.run(t, cli{args: []string{"exec", "--json", "-c", "echo json"}})
		var res struct {
			ExitCode int    `json:"exit_code"`
			Stdout   string `json:"stdout"`
		}
		if err := json.Unmarshal([]byte(o.stdout), &res); err != nil || res.Stdout != "json\r\n" || o.code != 0 {
			t.Errorf("--json: %q %q, status %d (%v)", o.stdout, o.stderr, o.code, err)
		}
		o = d.run(t, cli{args: []string{"status"}})
		if o.code != 0 || !strings.Contains(o.stdout, "serving") {
			t.Errorf("status: %q %q, status %d", o.stdout, o.stderr, o.code)
		}
	})
	t.Run("refused without the token", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, winBin.mothreads, "exec", "--address", d.addr, "-c", "echo never")
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 125 || strings.Contains(string(out), "never") {
			t.Errorf("without a token: %q, status %d; want 125", out, cmd.ProcessState.ExitCode())
		}
	})

	// Ordered shutdown (the Shutdown RPC: `mothreads stop` needs the
	// socket): the call in flight is cancelled after the drain timeout, its
	// whole tree ends, and the daemon exits 0.
	out := &proctest.Buffer{}
	exited := make(chan struct{})
	var call cliOutcome
	go func() {
		defer close(exited)
		var err error
		if call, err = d.runCLI(context.Background(), cli{args: []string{"exec", "--", self}, env: []string{winHelperEnv + "=tree"}, stdout: out}); err != nil {
			t.Error(err)
		}
	}()
	parent, child := waitTree(t, out, exited)
	c, err := client.Dial(context.Background(), client.WithAddress(d.addr), client.WithToken(winToken))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := c.Shutdown(ctx, false); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-d.done:
	case <-ctx.Done():
		t.Fatal("the daemon did not exit after Shutdown")
	}
	<-exited
	if code := d.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(d.log.String(), "shutdown complete") {
		t.Errorf("daemon exit status %d after Shutdown; want 0 and \"shutdown complete\" in its log", code)
	}
	if call.code != 125 || !strings.Contains(call.stderr, "cancelled") {
		t.Errorf("the call in flight: %q, status %d; want it cancelled (125)", call.stderr, call.code)
	}
	assertGone(t, "the cancelled call", parent)
	assertGone(t, "the cancelled call's child", child)
}

// C8 on Windows: when the daemon dies (TerminateProcess: no shutdown at
// all), the pool's Job Object closes and takes every call's tree with it.
func TestWindowsDaemonKilled(t *testing.T) {
	d := startWinDaemon(t, winTempDir(t))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := &proctest.Buffer{}
	exited := make(chan struct{})
	var call cliOutcome
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer close(exited)
		call, _ = d.runCLI(ctx, cli{args: []string{"exec", "--", self}, env: []string{winHelperEnv + "=tree"}, stdout: out})
	}()
	parent, child := waitTree(t, out, exited)
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.done
	assertGone(t, "the call of the killed daemon", parent)
	assertGone(t, "the child of that call", child)
	t.Run("the caller sees it", func(t *testing.T) {
		if underWine() {
			cancel()
			<-exited
			t.Skip("Wine differs from Windows here: Wine 8's wineserver may keep a killed process's end of a TCP connection open, " +
				"so the client waits for an answer that never comes (Windows closes it with the process)")
		}
		<-exited
		if call.code != 125 {
			t.Errorf("the call of the killed daemon: %q, status %d; want 125", call.stderr, call.code)
		}
	})
}

// An init script that fails makes every call fail with its status and
// output (exit 125 and the reason on stderr).
func TestWindowsInitFails(t *testing.T) {
	d := startWinDaemon(t, winTempDir(t), "--min-idle", "0", "--init", "echo broken init& exit /b 5")
	o := d.run(t, cli{args: []string{"exec", "-c", "echo never"}})
	if o.code != 125 || !strings.Contains(o.stderr, "broken init") || !strings.Contains(o.stderr, "init script failed with status") || strings.Contains(o.stdout, "never") {
		t.Errorf("got %q %q, status %d; want 125 and the init's output", o.stdout, o.stderr, o.code)
	}
}
