//go:build linux

package bash

import (
	"bufio"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool/internal/proc"
)

// An isolated session's shell driven by the harness (harness_test.go): its
// start records, its children's calls and their reports.

func TestHarnessStartRecords(t *testing.T) {
	h, info := startShell(t, false, "export FOO='a b'; cd /tmp; umask 077; greet() { :; }; unset -v HOME")
	if info.dir != "/tmp" || info.umask != "0077" || info.env["FOO"] != "a b" {
		t.Errorf("info: dir %q umask %q FOO %q", info.dir, info.umask, info.env["FOO"])
	}
	if _, ok := info.env["HOME"]; ok {
		t.Error("info still has HOME, which the init unset")
	}
	if !strings.Contains(strings.Join(info.builtins, " "), "cd") || strings.Join(info.functions, " ") != "greet" {
		t.Errorf("builtins %d, functions %q (the session's own are not reported)", len(info.builtins), info.functions)
	}
	if v := strings.Split(info.version, "."); len(v) != 2 {
		t.Errorf("version %q", info.version)
	}
	if p, ok := proc.Parent(info.forker); !ok || p != h.cmd.Process.Pid {
		t.Errorf("the forker, pid %d, has parent %d, want the shell %d", info.forker, p, h.cmd.Process.Pid)
	}
}

// TestHarnessInitFails: an init that fails gives an info record with its
// status and no fields, then the shell exits with that status.
func TestHarnessInitFails(t *testing.T) {
	h := launchShell(t, false, []string{"PATH=/usr/bin:/bin"})
	h.start("echo on purpose >&2; (exit 3)")
	_, info, err := h.records()
	if err != nil || info.status != 3 || info.dir != "" || len(info.env) != 0 {
		t.Fatalf("info %+v, %v", info, err)
	}
	var ee *exec.ExitError
	if err := h.waitExit(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("shell exit: %v, want status 3", err)
	}
	if d := h.diagnostics(); !strings.Contains(d, "on purpose") {
		t.Errorf("the init's stderr is not in the diagnostics: %q", d)
	}
}

func TestHarnessIsolatedCall(t *testing.T) {
	h, _ := startShell(t, false, "export FOO=session KEEP=1")
	sl := h.fork(1)
	j := &job{
		dir:    "/usr",
		set:    []string{"FOO=call's \xff value"},
		unset:  []string{"KEEP"},
		script: `echo "out $FOO $PWD ${KEEP-unset} $0 $BASH_SUBSHELL"; echo err >&2; read -r line; echo "in $line"; exit 7`,
		stdin:  true,
		check:  true,
	}
	res := h.call(sl, j, "hello\n")
	if res.setup != (report{kind: 's', slot: 1}) {
		t.Errorf("set-up report %+v", res.setup)
	}
	if want := "out call's \xff value /usr unset bash 0\nin hello\n"; res.stdout != want {
		t.Errorf("stdout %q, want %q", res.stdout, want)
	}
	if res.stderr != "err\n" || res.status != 7 {
		t.Errorf("stderr %q, status %d", res.stderr, res.status)
	}
	if res.ended {
		t.Errorf("exit 7 wrote an end report (%d): only a script that runs to its end does", res.endStatus)
	}

	// A script that runs to its end: the end report, then the exit with
	// the same status. The session's environment is back.
	sl = h.fork(2)
	res = h.call(sl, &job{script: `echo "$FOO ${KEEP-unset} $OLDPWD."; (exit 4)`}, "")
	if res.stdout != "session 1 .\n" || !res.ended || res.endStatus != 4 || res.status != 4 {
		t.Errorf("stdout %q, end report %v %d, status %d", res.stdout, res.ended, res.endStatus, res.status)
	}

	// An EXIT trap's text goes with the end report: such a report ends
	// nothing early.
	sl = h.fork(3)
	res = h.call(sl, &job{script: `trap 'echo bye' EXIT; true`}, "")
	if res.stdout != "bye\n" || res.ended || res.status != 0 {
		t.Errorf("EXIT trap: stdout %q, ended %v, status %d", res.stdout, res.ended, res.status)
	}
}

// TestHarnessSetupErrors: a directory that cannot be entered is an "e"
// report, and nothing of the script runs; a script that does not parse
// runs as a real bash -c does (its error, what comes before it).
func TestHarnessSetupErrors(t *testing.T) {
	h, _ := startShell(t, false, "")
	sl := h.fork(1)
	res := h.call(sl, &job{dir: "/nonexistent dir", script: "echo ran"}, "")
	if res.setup != (report{kind: 'e', slot: 1}) || res.stdout != "" || res.ended {
		t.Errorf("failed cd: %+v", res)
	}
	sl = h.fork(2)
	res = h.call(sl, &job{check: true, script: "echo before\nif then"}, "")
	if res.setup.kind != 's' || res.stdout != "before\n" || res.status != 2 ||
		!strings.Contains(res.stderr, "bash: -c: line 2: syntax error") {
		t.Errorf("syntax error: %+v", res)
	}
}

// TestHarnessExtglob: a script that turns extglob on parses with it, as it
// would under bash -c once the shopt has run.
func TestHarnessExtglob(t *testing.T) {
	h, _ := startShell(t, false, "")
	sl := h.fork(1)
	res := h.call(sl, &job{check: true, script: "shopt -s extglob\ncase ab in @(a|x)b) echo yes;; esac"}, "")
	if res.stdout != "yes\n" || res.status != 0 {
		t.Errorf("extglob: %+v", res)
	}
}

// TestHarnessLargeJob: a job many times larger than one read of the FIFO
// (64 KiB) arrives whole.
func TestHarnessLargeJob(t *testing.T) {
	h, _ := startShell(t, false, "")
	sl := h.fork(1)
	var script strings.Builder
	for script.Len() < 400<<10 {
		script.WriteString(": 'padding \xe2\x80\x94 that is quoted byte by byte'\n")
	}
	script.WriteString("echo last line")
	res := h.call(sl, &job{check: true, script: script.String(), set: []string{"BIG=" + strings.Repeat("\x01", 100<<10)}}, "")
	if res.stdout != "last line\n" || res.status != 0 || res.stderr != "" {
		t.Errorf("large job: stdout %q stderr %.200q status %d", res.stdout, res.stderr, res.status)
	}
}

// TestHarnessImitations: a script writes report lines everywhere it can;
// none reaches the control socket, and the session goes on.
func TestHarnessImitations(t *testing.T) {
	h, _ := startShell(t, false, "")
	sl := h.fork(1)
	res := h.call(sl, &job{script: `echo 's 1'; echo 'd 1 0' >&2; echo 'r 9 1' >&4; printf '\0%s\n' 0; exit 5`}, "")
	if res.stdout != "s 1\n\x000\n" || !strings.HasPrefix(res.stderr, "d 1 0\n") || !strings.Contains(res.stderr, "Bad file descriptor") {
		t.Errorf("imitations: stdout %q stderr %q", res.stdout, res.stderr)
	}
	if res.status != 5 || res.ended {
		t.Errorf("status %d, end report %v", res.status, res.ended)
	}
	// The next report is the next slot's, nothing the script wrote.
	h.fork(2)
}

// TestHarnessSignalToShell: a signal sent to $$ reaches the session's shell,
// which writes it to the signal pipe.
func TestHarnessSignalToShell(t *testing.T) {
	h, _ := startShell(t, false, "")
	sl := h.fork(1)
	res := h.call(sl, &job{script: `kill -USR1 $$`}, "")
	if res.status != 0 {
		t.Fatalf("kill: %+v", res)
	}
	h.sig.SetReadDeadline(time.Now().Add(harnessWait))
	line, err := bufio.NewReader(h.sig).ReadString('\n')
	if err != nil || line != "g USR1\n" {
		t.Errorf("signal pipe: %q, %v", line, err)
	}
}
