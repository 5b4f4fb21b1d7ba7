//go:build linux

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
)

// daemonFlags are mothreadsd's flags as DESIGN.md's External interface
// lists them.
var daemonFlags = []string{
	"socket", "listen", "tls-cert", "tls-key", "tls-client-ca", "token-file", "shell", "init",
	"min-idle", "max-sessions", "max-uses", "max-age", "idle-timeout", "queue-timeout",
	"default-timeout", "kill-grace", "drain-timeout", "exit-idle", "log-format", "log-level",
}

// envName is a daemon flag's variable: MOTHREADS_MIN_IDLE for min-idle.
func envName(flag string) string {
	return "MOTHREADS_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func TestDaemonHelpListsEveryFlagAndVariable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.runCmd(e.daemonCmd([]string{"--help"})).want(t, 0)
	for _, f := range daemonFlags {
		if !strings.Contains(r.stdout, "--"+f+" ") {
			t.Errorf("--help does not list --%s", f)
		}
		if !strings.Contains(r.stdout, "(env "+envName(f)+")") {
			t.Errorf("--help does not name %s for --%s", envName(f), f)
		}
	}
}

func TestDaemonVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.runCmd(e.daemonCmd([]string{"--version"})).want(t, 0)
	if !regexp.MustCompile(`^mothreadsd version \S+\n$`).MatchString(r.stdout) {
		t.Errorf("mothreadsd --version printed %q", r.stdout)
	}
	e.socketGone() // it did not start serving
}

// TestDaemonRefusesBadSettings gives each setting a bad value, on the
// command line or in its variable, and wants exit status 2 with the flag
// (and the variable) named, before anything starts.
func TestDaemonRefusesBadSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name  string
		args  []string
		env   []string
		names []string // all in stderr
	}{
		{"negative duration", []string{"--kill-grace", "-1s"}, nil, []string{"--kill-grace", "negative"}},
		{"duration without unit", []string{"--max-age", "10"}, nil, []string{"--max-age", "duration"}},
		{"zero queue timeout", []string{"--queue-timeout", "0"}, nil, []string{"--queue-timeout", "positive"}},
		{"unknown log format", []string{"--log-format", "xml"}, nil, []string{"--log-format", "text, json"}},
		{"unknown log level", []string{"--log-level", "loud"}, nil, []string{"--log-level", "debug"}},
		{"negative count", []string{"--min-idle", "-1"}, nil, []string{"--min-idle", "minimum"}},
		{"not a number", []string{"--max-sessions", "many"}, nil, []string{"--max-sessions", "whole number"}},
		{"min idle over max", []string{"--min-idle", "5", "--max-sessions", "2"}, nil, []string{"--min-idle", "--max-sessions"}},
		{"unknown shell path", []string{"--shell", "/no/such/shell"}, nil, []string{"--shell", "/no/such/shell"}},
		{"unknown shell name", []string{"--shell", "no-such-shell-mti"}, nil, []string{"--shell", "not found"}},
		{"TCP without TLS or token", []string{"--listen", "127.0.0.1:0"}, nil, []string{"--listen", "--token-file"}},
		{"TLS without TCP", []string{"--tls-cert", "/etc/hostname"}, nil, []string{"--tls-cert", "--listen"}},
		{"missing token file", []string{"--listen", "127.0.0.1:0", "--token-file", "/no/such/token"}, nil, []string{"--token-file", "/no/such/token"}},
		{"unknown flag", []string{"--no-such-flag"}, nil, []string{"--no-such-flag"}},
		{"argument", []string{"extra"}, nil, []string{"extra"}},
		{"negative duration in variable", nil, []string{"MOTHREADS_DRAIN_TIMEOUT=-5s"}, []string{"MOTHREADS_DRAIN_TIMEOUT", "--drain-timeout", "negative"}},
		{"unknown log format in variable", nil, []string{"MOTHREADS_LOG_FORMAT=xml"}, []string{"MOTHREADS_LOG_FORMAT", "--log-format"}},
		{"bad count in variable", nil, []string{"MOTHREADS_MAX_USES=-3"}, []string{"MOTHREADS_MAX_USES", "--max-uses"}},
		{"unknown shell in variable", nil, []string{"MOTHREADS_SHELL=/no/such/shell"}, []string{"--shell", "/no/such/shell"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.runCmd(e.daemonCmd(tc.args, tc.env...)).want(t, 2)
			for _, n := range tc.names {
				if !strings.Contains(r.stderr, n) {
					t.Errorf("stderr %q does not name %q", r.stderr, n)
				}
			}
			e.socketGone()
		})
	}
}

// TestEveryDurationVariableIsRead gives every duration setting a negative
// value through its variable alone: each must be read, and refused.
func TestEveryDurationVariableIsRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, f := range []string{"max-age", "idle-timeout", "queue-timeout", "default-timeout", "kill-grace", "drain-timeout", "exit-idle"} {
		r := e.runCmd(e.daemonCmd(nil, envName(f)+"=-1s")).want(t, 2)
		if !strings.Contains(r.stderr, envName(f)) || !strings.Contains(r.stderr, "--"+f) {
			t.Errorf("%s=-1s: stderr %q names neither the variable nor the flag", envName(f), r.stderr)
		}
	}
}

// TestDaemonSettingsFromEnvironment starts mothreadsd with its settings in
// MOTHREADS_* variables (the socket included) and checks that they apply,
// and that the command line wins over a variable.
func TestDaemonSettingsFromEnvironment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.spawnDaemonExact([]string{"--max-sessions", "6"},
		"MOTHREADS_MIN_IDLE=3", "MOTHREADS_MAX_SESSIONS=5", "MOTHREADS_LOG_FORMAT=json",
		"MOTHREADS_LOG_LEVEL=debug", "MOTHREADS_KILL_GRACE=300ms", "MOTHREADS_DEFAULT_TIMEOUT=400ms",
		"MOTHREADS_INIT=MTI_FROM_INIT=yes")
	if !d.logs.WaitFor(`"msg":"serving"`, daemonStartBound, d.done) {
		t.Fatalf("mothreadsd did not log that it serves, in JSON; its log:\n%s", d.logs)
	}
	t.Cleanup(func() { d.stop(t, e.socket) })

	s := e.status()
	if s.Pool.MinIdle != 3 || s.Pool.MaxSessions != 6 {
		t.Errorf("min_idle %d, max_sessions %d; want 3 (MOTHREADS_MIN_IDLE) and 6 (--max-sessions over MOTHREADS_MAX_SESSIONS=5)",
			s.Pool.MinIdle, s.Pool.MaxSessions)
	}
	if s.Socket != e.socket {
		t.Errorf("serving on %q, want %q (MOTHREADS_SOCKET)", s.Socket, e.socket)
	}
	// MOTHREADS_DEFAULT_TIMEOUT limits a call that sets none.
	e.run("exec", "--", "sleep", "30").want(t, 124)
	// MOTHREADS_INIT ran in the session before the call.
	if r := e.run("exec", "--clean-env", "-c", `echo "$MTI_FROM_INIT"`).want(t, 0); r.stdout != "yes\n" {
		t.Errorf("init script's variable: %q, want \"yes\\n\"", r.stdout)
	}
	// Every line of the log so far is one JSON object with time, level, msg.
	for _, line := range strings.Split(strings.TrimSpace(d.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON (%v): %q", err, line)
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line without %q: %q", k, line)
			}
		}
	}
}

func TestDaemonAlreadyRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.startDaemon(nil)
	second := e.spawnDaemon(nil)
	if code := second.wait(t); code != 3 {
		t.Errorf("second mothreadsd on the same socket: status %d, want 3", code)
	}
	if want := "already running"; !strings.Contains(second.logs.String(), want) || !strings.Contains(second.logs.String(), e.socket) {
		t.Errorf("second mothreadsd's stderr %q does not say %q with the socket", second.logs, want)
	}
	// The first one still serves, on its own socket file.
	if s := e.status(); s.PID != first.cmd.Process.Pid || !s.Serving {
		t.Errorf("status after the second start: pid %d serving %v, want pid %d serving", s.PID, s.Serving, first.cmd.Process.Pid)
	}
	e.run("exec", "--", "true").want(t, 0)
}

func TestDaemonReplacesStaleSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.staleSocket()
	d := e.startDaemon(nil)
	if !strings.Contains(d.logs.String(), "removed a stale socket") {
		t.Errorf("the daemon did not log the stale socket's removal:\n%s", d.logs)
	}
	e.run("exec", "--", "echo", "ok").want(t, 0)
}

// TestDaemonOrderedShutdownOnSignal sends SIGTERM (and SIGINT) while a call
// runs: the call finishes, the daemon exits 0 and removes its socket.
func TestDaemonOrderedShutdownOnSignal(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			d := e.serveDaemon(nil)
			cmd := e.cli([]string{"exec", "-c", "echo ready; sleep 0.3; echo finished"})
			lines := startReading(t, cmd)
			lines.expect(t, "ready")
			d.cmd.Process.Signal(sig)
			lines.expect(t, "finished")
			if code := waitExit(t, cmd); code != 0 {
				t.Errorf("the call in flight at %v: exit status %d, want 0", sig, code)
			}
			if code := d.wait(t); code != 0 {
				t.Errorf("mothreadsd after %v: exit status %d, want 0; log:\n%s", sig, code, d.logs)
			}
			e.socketGone()
			if !strings.Contains(d.logs.String(), "shutdown complete") {
				t.Errorf("no \"shutdown complete\" in the log:\n%s", d.logs)
			}
		})
	}
}

// daemonCmd returns a mothreadsd command with exactly args and the env's
// environment plus extra.
func (e *env) daemonCmd(args []string, extra ...string) *exec.Cmd {
	cmd := exec.Command(bin.mothreadsd, args...)
	cmd.Env = e.environ(extra...)
	return cmd
}

// TestDaemonSurvivesItsLogReaderGoing: a daemon whose stderr is a pipe
// that nobody reads any more (`mothreadsd 2>&1 | head -1`) keeps serving
// and still shuts down in order. Go's default would kill it with SIGPIPE
// on its next log line, leaving its socket behind.
func TestDaemonSurvivesItsLogReaderGoing(t *testing.T) {
	e := newEnv(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin.mothreadsd, "--socket", e.socket, "--min-idle", "1", "--log-level", "debug")
	cmd.Env = e.environ()
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill() // no-op once it has exited
		<-done
	})
	// Read its log until it serves, then go away as head would.
	lines := bufio.NewReader(r)
	for {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the daemon's log: %v", err)
		}
		if strings.Contains(line, "msg=serving") {
			break
		}
	}
	r.Close()
	// Every call logs at debug level: each of these writes to the closed pipe.
	for i := range 3 {
		want := fmt.Sprintf("call %d\n", i)
		if r := e.run("exec", "--no-autostart", "--", "echo", "call", strconv.Itoa(i)).want(t, 0); r.stdout != want {
			t.Errorf("stdout %q, want %q", r.stdout, want)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("mothreadsd exit: %v, want status 0 after SIGTERM", waitErr)
		}
	case <-time.After(daemonStopBound):
		t.Fatalf("mothreadsd did not exit within %v of SIGTERM", daemonStopBound)
	}
	e.socketGone()
}

// TestDaemonSecondSignalSkipsTheDrain (C11): a second SIGTERM while a call
// keeps the drain waiting cancels the call at once, and the shutdown stays
// in order: the caller is told why its command died, the call's process
// tree is killed, the socket file is removed, and the daemon exits 0. (A
// second signal that forced the tree made it exit 1, and the caller saw
// only a broken connection.)
func TestDaemonSecondSignalSkipsTheDrain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.serveDaemon([]string{"--drain-timeout", "10m"})
	cmd := e.cli([]string{"exec", "-c", "echo ready; exec sleep 600"})
	stderr := new(proctest.Buffer)
	cmd.Stderr = stderr
	lines := startReading(t, cmd)
	lines.expect(t, "ready")
	tree := descendants(d.pid())

	d.cmd.Process.Signal(syscall.SIGTERM)
	// Two pending SIGTERMs would be one: the second goes once the first is
	// being handled.
	if !d.logs.WaitFor("draining calls", daemonStopBound, d.done) {
		t.Fatalf("the daemon did not start draining after SIGTERM")
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(t); code != 0 { // within daemonStopBound, far below the 10 minutes of drain
		t.Errorf("mothreadsd exited %d after a skipped drain, want 0", code)
	}
	e.socketGone()
	for _, pid := range tree {
		if !proctest.WaitGone(pid, dieBound) {
			t.Errorf("process %d (%q) of the daemon's tree outlived it", pid, proctest.Cmdline(pid))
		}
	}
	if code := waitExit(t, cmd); code != 128+int(syscall.SIGTERM) || !strings.Contains(stderr.String(), "without drain") {
		t.Errorf("exec exited %d with stderr %q; want %d (its command's SIGTERM) and the reason", code, stderr.String(), 128+int(syscall.SIGTERM))
	}
}

// TestDaemonThirdSignalForces: when the skipped drain still waits (a
// command ignores SIGTERM and the kill grace is long), a third SIGTERM ends
// the daemon at once: it exits 1 naming what had not stopped, its socket is
// removed, and no process of its tree outlives it (C8).
func TestDaemonThirdSignalForces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.serveDaemon([]string{"--drain-timeout", "10m", "--kill-grace", "10m"})
	cmd := e.cli([]string{"exec", "-c", "trap '' TERM; echo ready; sleep 600 & wait"})
	lines := startReading(t, cmd)
	lines.expect(t, "ready")
	tree := descendants(d.pid())

	for i, want := range []string{"draining calls", "drain skipped"} {
		d.cmd.Process.Signal(syscall.SIGTERM)
		if !d.logs.WaitFor(want, daemonStopBound, d.done) {
			t.Fatalf("signal %d: the daemon did not log %q", i+1, want)
		}
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(t); code != 1 || !strings.Contains(d.logs.String(), "threads did not stop") {
		t.Errorf("mothreadsd exited %d after a forced shutdown; want 1, naming the threads that had not stopped", code)
	}
	e.socketGone()
	for _, pid := range tree {
		if !proctest.WaitGone(pid, dieBound) {
			t.Errorf("process %d (%q) of the daemon's tree outlived it", pid, proctest.Cmdline(pid))
		}
	}
	waitExit(t, cmd)
}
