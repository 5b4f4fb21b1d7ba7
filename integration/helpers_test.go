//go:build linux

package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// markerVar tags every process a test causes: its daemons and CLIs get it
// in their environment, and everything they start inherits it (the CLI
// sends its environment with each call), so leftovers can be found in /proc
// after the test (C8), whatever their parent became.
const markerVar = "MOTHREADS_TEST_MARKER"

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
	e := &env{t: t, dir: dir, socket: filepath.Join(dir, "run", "d.sock"), marker: newMarker()}
	t.Cleanup(func() {
		assertNoLeftovers(t, markerVar, e.marker)
		os.RemoveAll(dir)
	})
	return e
}

func newMarker() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
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
	out = append(out, markerVar+"="+e.marker, "MOTHREADS_SOCKET="+e.socket)
	return append(out, extra...)
}

// daemon is a mothreadsd started by a test.
type daemon struct {
	cmd  *exec.Cmd
	logs *logBuffer
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
	if !d.logs.waitFor("msg=serving", daemonStartBound, d.done) {
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
	d := &daemon{cmd: cmd, logs: newLogBuffer(), done: make(chan struct{})}
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

// logBuffer collects a process's output and lets a test wait for a line.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until the output contains s; it gives up after bound or
// when gone closes.
func (l *logBuffer) waitFor(s string, bound time.Duration, gone <-chan struct{}) bool {
	deadline := time.After(bound)
	for {
		l.mu.Lock()
		found, changed := bytes.Contains(l.buf.Bytes(), []byte(s)), l.changed
		l.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-changed:
		case <-gone:
			return strings.Contains(l.String(), s)
		case <-deadline:
			return false
		}
	}
}

// assertNoLeftovers fails if a process carrying name=value in its
// environment is alive. Processes being killed get dieBound to vanish;
// their end is watched through a pidfd, not by polling.
func assertNoLeftovers(t *testing.T, name, value string) {
	t.Helper()
	for _, pid := range markedProcesses(name, value) {
		if !waitGone(pid, dieBound) {
			t.Errorf("process %d (%s) outlived the test (C8)", pid, cmdline(pid))
			unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// waitGone waits up to bound for pid to exit and reports whether it has.
func waitGone(pid int, bound time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // gone already
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(bound)
	for {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
		if n > 0 {
			return true
		}
		if err != unix.EINTR || time.Now().After(deadline) {
			return false
		}
	}
}

// markedProcesses returns the processes with name=value in their
// environment, except this one.
func markedProcesses(name, value string) []int {
	entries, _ := os.ReadDir("/proc")
	want := []byte(name + "=" + value + "\x00")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(env, want) {
			out = append(out, pid)
		}
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
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
