//go:build linux

package integration

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
)

// Bounds of waits on other processes.
const (
	daemonStartBound = 30 * time.Second
	daemonStopBound  = 30 * time.Second
	cliBound         = 60 * time.Second // one CLI run
	dieBound         = 3 * time.Second  // a killed process to vanish
)

// env is one test's world: a short temporary directory for the socket (a
// Unix socket path must stay under 108 bytes) and a marker.
type env struct {
	t      *testing.T
	dir    string
	socket string
	marker string
}

// newEnv returns a new env. Its cleanup, which runs after every cleanup
// registered later, fails the test if a marked process is still alive.
func newEnv(t *testing.T) *env {
	t.Helper()
	dir, err := os.MkdirTemp("", "mti")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, socket: filepath.Join(dir, "run", "d.sock"), marker: proctest.NewMarker()}
	t.Cleanup(func() {
		proctest.AssertNoLeftovers(t, proctest.MarkerVar, e.marker, dieBound)
		os.RemoveAll(dir)
	})
	return e
}

// environ is the environment of the test's processes: the test's own
// without MOTHREADS_* settings, plus the marker, the socket and extra.
// Under -race it also sets GORACE's atexit_sleep_ms to 0: by default every
// race-enabled process that exits with status 0 sleeps a second first,
// which would add a second to each CLI run.
func (e *env) environ(extra ...string) []string {
	var out []string
	gorace := ""
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "GORACE="):
			gorace = strings.TrimPrefix(kv, "GORACE=")
		case !strings.HasPrefix(kv, "MOTHREADS_"):
			out = append(out, kv)
		}
	}
	if raceEnabled {
		gorace = strings.TrimSpace(gorace + " atexit_sleep_ms=0")
	}
	if gorace != "" {
		out = append(out, "GORACE="+gorace)
	}
	out = append(out, proctest.MarkerVar+"="+e.marker, "MOTHREADS_SOCKET="+e.socket)
	return append(out, extra...)
}

// daemon is a mothreadsd started by a test.
type daemon struct {
	cmd  *exec.Cmd
	logs *proctest.Buffer
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's, set before done closes
}

// startDaemon starts mothreadsd on the env's socket with a quick kill
// grace, one warm session and debug logs, plus args and the environment
// extras in extra, and waits until it logs that it serves. The test's
// cleanup sends it SIGTERM and requires an ordered shutdown: exit status 0
// and the socket removed.
func (e *env) startDaemon(args []string, extra ...string) *daemon {
	e.t.Helper()
	d := e.serveDaemon(args, extra...)
	e.t.Cleanup(func() { d.stop(e.t, e.socket) })
	return d
}

// serveDaemon is spawnDaemon, then a wait until the daemon logs that it
// serves; unlike startDaemon, it leaves the daemon's end to the test (its
// cleanup only kills it if it is still running).
func (e *env) serveDaemon(args []string, extra ...string) *daemon {
	e.t.Helper()
	d := e.spawnDaemon(args, extra...)
	if !d.logs.WaitFor("msg=serving", daemonStartBound, d.done) {
		e.t.Fatalf("mothreadsd did not start serving; its log:\n%s", d.logs)
	}
	return d
}

// spawnDaemon starts mothreadsd without waiting for anything; the test's
// cleanup kills it if it is still running.
func (e *env) spawnDaemon(args []string, extra ...string) *daemon {
	e.t.Helper()
	all := append([]string{"--socket", e.socket, "--min-idle", "1", "--kill-grace", "500ms", "--log-level", "debug"}, args...)
	return e.spawnDaemonExact(all, extra...)
}

// spawnDaemonExact is spawnDaemon with exactly args on the command line:
// no --socket (the daemon takes MOTHREADS_SOCKET from the env's
// environment) and none of spawnDaemon's other flags.
func (e *env) spawnDaemonExact(all []string, extra ...string) *daemon {
	e.t.Helper()
	cmd := exec.Command(bin.mothreadsd, all...)
	cmd.Env = e.environ(extra...)
	d := &daemon{cmd: cmd, logs: new(proctest.Buffer), done: make(chan struct{})}
	cmd.Stderr = d.logs
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	e.t.Cleanup(func() {
		cmd.Process.Kill() // no-op once it has exited
		<-d.done
		if e.t.Failed() {
			e.t.Logf("mothreadsd log:\n%s", d.logs)
		}
	})
	return d
}

// stop sends SIGTERM and requires an ordered shutdown.
func (d *daemon) stop(t *testing.T, socket string) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(daemonStopBound):
		t.Errorf("mothreadsd did not exit within %v of SIGTERM", daemonStopBound)
		return
	}
	if d.err != nil {
		t.Errorf("mothreadsd exit: %v, want status 0 after SIGTERM", d.err)
	}
	if _, err := os.Lstat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s still there after the daemon's shutdown (%v)", socket, err)
	}
}

// wait waits for the daemon to exit and returns its exit status.
func (d *daemon) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(daemonStopBound):
		t.Fatalf("mothreadsd did not exit within %v", daemonStopBound)
	}
	return d.cmd.ProcessState.ExitCode()
}

// result is a finished CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// cli returns a mothreads command with the env's environment (plus extra).
func (e *env) cli(args []string, extra ...string) *exec.Cmd {
	cmd := exec.Command(bin.mothreads, args...)
	cmd.Env = e.environ(extra...)
	return cmd
}

// startReading starts cmd with its stdout read line by line; the test's
// cleanup kills cmd if it is still running.
func startReading(t *testing.T, cmd *exec.Cmd) *lineReader {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) // no-op once waited for
	return newLineReader(out)
}

// run runs mothreads with args to its end, bounded by cliBound.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runCmd(e.cli(args))
}

// runCmd runs cmd to its end, bounded by cliBound, and returns its output
// and exit status.
func (e *env) runCmd(cmd *exec.Cmd) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &errb
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	timer := time.AfterFunc(cliBound, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		e.t.Fatalf("%v: %v", cmd.Args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
}

// want fails the test unless r has exit status code.
func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d\nstdout: %q\nstderr: %q", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// lineReader reads a process's output line by line for a test that must
// react to it (streaming, signals).
type lineReader struct {
	r *bufio.Reader
}

func newLineReader(r io.Reader) *lineReader { return &lineReader{r: bufio.NewReader(r)} }

// expect reads lines until one equals want; it fails the test at the end of
// the output.
func (l *lineReader) expect(t *testing.T, want string) {
	t.Helper()
	var seen []string
	for {
		line, err := l.r.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == want {
			return
		}
		seen = append(seen, line)
		if err != nil {
			t.Fatalf("output ended (%v) before the line %q; got %q", err, want, seen)
		}
	}
}
