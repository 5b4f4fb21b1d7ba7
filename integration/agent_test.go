//go:build linux

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
)

// agentSession is `mothreads sessions --json`, as much as the test reads.
type agentSession struct {
	Name    string `json:"name"`
	Cwd     string `json:"cwd"`
	Busy    bool   `json:"busy"`
	Waiting string `json:"waiting"`
	Jobs    []struct {
		PIDs []int `json:"pids"`
	} `json:"jobs"`
}

// sessions lists the sticky sessions through the CLI.
func (e *env) sessions(t *testing.T) map[string]agentSession {
	t.Helper()
	r := e.run("sessions", "--json").want(t, 0)
	var list []agentSession
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("sessions --json: %v\n%s", err, r.stdout)
	}
	out := map[string]agentSession{}
	for _, s := range list {
		out[s.Name] = s
	}
	return out
}

// TestAgentDrivesStickySession drives a sticky session through the CLI the
// way a tool-using agent drives its bash tool (issue 16): it creates the
// session, cds into a repository, activates a virtualenv, starts an HTTP
// server in the background and fetches from it in the next call, runs a
// command that times out (the session survives with its cwd and venv; the
// call is interrupted), answers a `read` prompt through input, interrupts a
// call, lists the jobs and the server's log, and closes the session, which
// ends the server. Then background jobs of another session die with a
// kill -9 of the daemon.
func TestAgentDrivesStickySession(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("needs python3 for the background HTTP server")
	}
	e := newEnv(t)
	d := e.serveDaemon(nil)
	const S = "agent"
	call := func(args ...string) result {
		t.Helper()
		return e.run(append([]string{"exec", "--session", S}, args...)...)
	}

	// A repository with a fake virtualenv: activate sets VIRTUAL_ENV and
	// PATH and defines deactivate, as venv's does.
	repo := filepath.Join(e.dir, "repo")
	venvBin := filepath.Join(repo, ".venv", "bin")
	if err := os.MkdirAll(venvBin, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, text string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(venvBin, "activate"), `VIRTUAL_ENV='`+filepath.Join(repo, ".venv")+`'
export VIRTUAL_ENV
_OLD_PATH=$PATH
PATH="$VIRTUAL_ENV/bin:$PATH"
export PATH
deactivate() { PATH=$_OLD_PATH; unset VIRTUAL_ENV; unset -f deactivate; }
`, 0o644)
	write(filepath.Join(venvBin, "venv-tool"), "#!/bin/sh\necho \"venv-tool from $VIRTUAL_ENV\"\n", 0o755)
	write(filepath.Join(repo, "marker.txt"), "served from the repo\n", 0o644)

	// 1. Create the session (with its own idle expiry), cd, activate.
	call("--idle-timeout", "1h", "-c", "cd "+repo+" && . .venv/bin/activate && echo ready").want(t, 0)
	venv := filepath.Join(repo, ".venv")
	if r := call("-c", `echo "$PWD|$VIRTUAL_ENV"; venv-tool`).want(t, 0); r.stdout != repo+"|"+venv+"\nvenv-tool from "+venv+"\n" {
		t.Errorf("state in the second call: %q", r.stdout)
	}

	// 2. A server in the background; the next call fetches from it.
	_, port, _ := net.SplitHostPort(freePort(t))
	r := call("-c", fmt.Sprintf("%s -m http.server %s --bind 127.0.0.1 & echo $!", python, port)).want(t, 0)
	serverPID, err := strconv.Atoi(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatalf("server pid %q: %v", r.stdout, err)
	}
	// bash's /dev/tcp: no curl needed. The loop waits for the server to
	// listen, as an agent's retry would.
	fetch := fmt.Sprintf(`for i in $(seq 200); do exec 3<>/dev/tcp/127.0.0.1/%s && break; sleep 0.05; done 2>/dev/null
printf 'GET /marker.txt HTTP/1.0\r\n\r\n' >&3; cat <&3; exec 3<&-`, port)
	if r := call("-c", fetch).want(t, 0); !strings.Contains(r.stdout, "200 OK") || !strings.Contains(r.stdout, "served from the repo") {
		t.Errorf("fetch from the background server: %q (stderr %q)", r.stdout, r.stderr)
	}
	// The server's request log came after the call that started it: it is
	// in the session's log, not in any call's output.
	logs := e.cli([]string{"logs", "--session", S, "--follow"})
	out, err := logs.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Process.Kill(); logs.Wait() })
	sc := bufio.NewScanner(out)
	for found := false; !found; {
		if !sc.Scan() {
			t.Fatalf("logs --follow ended without the server's request line: %v", sc.Err())
		}
		found = strings.Contains(sc.Text(), `"GET /marker.txt HTTP/1.0" 200`)
	}

	// 3. A command that times out: interrupted, the session and its state
	// stay, and so does the server.
	r = call("--timeout", "500ms", "-c", "echo partial; sleep 30; echo not-reached").want(t, 124)
	if r.stdout != "partial\n" || !strings.Contains(r.stderr, "interrupted") || !strings.Contains(r.stderr, `sticky session "agent" is kept`) {
		t.Errorf("timed-out call: stdout %q stderr %q", r.stdout, r.stderr)
	}
	if r := call("-c", `echo "$PWD|$VIRTUAL_ENV|$(type -t deactivate)"; kill -0 `+strconv.Itoa(serverPID)+` && echo server-up`).want(t, 0); r.stdout != repo+"|"+repo+"/.venv|function\nserver-up\n" {
		t.Errorf("state after the timeout: %q", r.stdout)
	}

	// 4. A prompt answered through input.
	prompt := e.cli([]string{"exec", "--session", S, "--open-stdin", "-c", `read -r -p "Proceed? " ans; echo "answer=$ans"`})
	var promptOut strings.Builder
	prompt.Stdout = &promptOut
	if err := prompt.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the command waits for its stdin", func() bool { return e.sessions(t)[S].Waiting == "stdin" })
	e.run("input", "--session", S, "yes").want(t, 0)
	if err := prompt.Wait(); err != nil || promptOut.String() != "answer=yes\n" {
		t.Errorf("prompted call: %v, stdout %q", err, promptOut.String())
	}

	// 5. An interrupt from elsewhere: 130, the session stays.
	long := e.cli([]string{"exec", "--session", S, "-c", "sleep 30; echo not-reached"})
	var longErr strings.Builder
	long.Stderr = &longErr
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the long call runs", func() bool { return e.sessions(t)[S].Busy })
	e.run("interrupt", S).want(t, 0)
	if err := long.Wait(); long.ProcessState.ExitCode() != 130 || !strings.Contains(longErr.String(), "interrupted") {
		t.Errorf("interrupted call: %v, stderr %q", err, longErr.String())
	}

	// 6. Jobs, then close: the server dies with the session.
	info := e.sessions(t)[S]
	if info.Cwd != repo {
		t.Errorf("session cwd %q, want %q", info.Cwd, repo)
	}
	if jobs := e.run("jobs", "--session", S).want(t, 0); !strings.Contains(jobs.stdout, strconv.Itoa(serverPID)) {
		t.Errorf("jobs do not list the server %d:\n%s", serverPID, jobs.stdout)
	}
	e.run("close", S).want(t, 0)
	if !proctest.WaitGone(serverPID, dieBound) {
		t.Errorf("the background server %d outlived its session", serverPID)
	}
	if err := logs.Wait(); err != nil {
		t.Errorf("logs --follow after close: %v, want exit 0", err)
	}
	if _, ok := e.sessions(t)[S]; ok {
		t.Error("the session is still listed after close")
	}
	if r := e.run("close", S).want(t, 125); !strings.Contains(r.stderr, `no sticky session "agent"`) {
		t.Errorf("closing it again: %q", r.stderr)
	}

	// 7. Background jobs of a sticky session die on kill -9 of the daemon.
	r = e.run("exec", "--session", "other", "-c", "sleep 300 & echo $!").want(t, 0)
	sleepPID, err := strconv.Atoi(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatalf("sleep pid %q: %v", r.stdout, err)
	}
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done
	if !proctest.WaitGone(sleepPID, dieBound) {
		t.Errorf("a sticky session's background job %d outlived kill -9 of the daemon", sleepPID)
	}
}

// waitFor polls cond (a CLI query: nothing signals these states) until it
// holds, or fails the test after cliBound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(cliBound); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not the case after %v", what, cliBound)
		}
	}
}
