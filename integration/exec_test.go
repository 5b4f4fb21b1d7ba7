//go:build linux

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExecArgvIsNotResplit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	r := e.run("exec", "--", "printf", "[%s]", "a b", "*", "$HOME", "", "'q'", `"d"`, "x;y").want(t, 0)
	if want := `[a b][*][$HOME][]['q']["d"][x;y]`; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	// Without --, the first argument still starts argv: its flags are its own.
	r = e.run("exec", "printf", "-v").want(t, 2) // printf's own usage error
	if strings.Contains(r.stderr, "unknown") && strings.Contains(r.stderr, "mothreads") {
		t.Errorf("mothreads parsed the program's flag: %q", r.stderr)
	}
}

func TestExecScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	r := e.run("exec", "-c", `x=3; echo "$((x*2))" "$0" | tr 6 X`).want(t, 0)
	if r.stdout != "X bash\n" && !strings.HasPrefix(r.stdout, "X ") {
		t.Errorf("stdout %q", r.stdout)
	}
}

func TestExecOutputIsExact(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	r := e.run("exec", "-c", `printf 'a\0b\377\n\nend'; printf 'err\0\376' >&2`).want(t, 0)
	if want := "a\x00b\xff\n\nend"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if want := "err\x00\xfe"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
}

// TestExecStreamsLive reads the command's first line while the command
// still waits for input that the test sends only after reading it.
func TestExecStreamsLive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	cmd := e.cli([]string{"exec", "-i", "-c", `echo first; read -r x; echo "second $x"; echo to-stderr >&2`})
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	lines := startReading(t, cmd)
	lines.expect(t, "first")
	in.Write([]byte("go\n"))
	in.Close()
	lines.expect(t, "second go")
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v (stderr %q)", err, stderr.String())
	}
	if stderr.String() != "to-stderr\n" {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestExecExitStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // part of stderr
	}{
		{"own status", []string{"exec", "-c", "exit 42"}, 42, ""},
		{"own status, argv", []string{"exec", "--", "sh", "-c", "exit 3"}, 3, ""},
		{"signal KILL", []string{"exec", "--", "sh", "-c", "kill -KILL $$"}, 128 + 9, ""},
		{"signal TERM", []string{"exec", "--", "sh", "-c", "kill -TERM $$"}, 128 + 15, ""},
		{"timeout", []string{"exec", "--timeout", "300ms", "--", "sleep", "30"}, 124, ""},
		{"not found", []string{"exec", "--", "no-such-program-mti"}, 127, "no-such-program-mti: command not found"},
		{"bad flag", []string{"exec", "--no-such-flag", "--", "true"}, 125, "unknown flag"},
		{"bad duration", []string{"exec", "--timeout", "-1s", "--", "true"}, 125, "negative"},
		{"nothing to run", []string{"exec"}, 125, "nothing to run"},
		{"both forms", []string{"exec", "-c", "true", "--", "true"}, 125, "not both"},
		{"bad env", []string{"exec", "--env", "NOEQUALS", "--", "true"}, 125, "KEY=VALUE"},
		{"rejected: no such cwd", []string{"exec", "--cwd", "/no/such/dir", "--", "true"}, 125, "cwd"},
		{"rejected: bad env name", []string{"exec", "--env", "1A=x", "--", "true"}, 125, `field "env[0]"`},
		{"rejected: bad session name", []string{"exec", "--session", "a/b", "--", "true"}, 125, `field "session"`},
		{"unknown subcommand", []string{"nosuch"}, 125, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(tc.args...).want(t, tc.code)
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.stderr)
			}
		})
	}
}

func TestExecWithoutDaemonAndNoAutostart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("exec", "--no-autostart", "--", "true").want(t, 125)
	if want := "no daemon at " + e.socket; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not contain %q", r.stderr, want)
	}
	if _, err := os.Stat(e.socket); err == nil {
		t.Errorf("a daemon was started despite --no-autostart")
	}
}

func TestExecWorkingDirectory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	here := filepath.Join(e.dir, "here")
	there := filepath.Join(e.dir, "there")
	for _, d := range []string{here, there} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default: the caller's", []string{"exec", "--", "pwd"}, here},
		{"script: the caller's", []string{"exec", "-c", "pwd; echo $PWD"}, here + "\n" + here},
		{"explicit", []string{"exec", "--cwd", there, "--", "pwd"}, there},
		{"relative to the caller's", []string{"exec", "--cwd", "../there", "-c", "pwd; echo $PWD"}, there + "\n" + there},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := e.cli(tc.args)
			cmd.Dir = here
			r := e.runCmd(cmd).want(t, 0)
			if got := strings.TrimSpace(r.stdout); got != tc.want {
				t.Errorf("stdout %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExecEnvironment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil, "ONLY_DAEMON=d")
	show := `echo "caller=${ONLY_CALLER-unset} daemon=${ONLY_DAEMON-unset} extra=${EXTRA-unset}"`
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"caller's by default", []string{"exec", "-c", show}, "caller=c daemon=unset extra=unset"},
		{"--env over it", []string{"exec", "--env", "EXTRA=a,b c", "--env", "ONLY_CALLER=over", "-c", show}, "caller=over daemon=unset extra=a,b c"},
		{"--clean-env: the session's", []string{"exec", "--clean-env", "-c", show}, "caller=unset daemon=d extra=unset"},
		{"--clean-env with --env", []string{"exec", "--clean-env", "--env", "EXTRA=x", "-c", show}, "caller=unset daemon=d extra=x"},
		{"argv form", []string{"exec", "--env", "EXTRA=y", "--", "sh", "-c", show}, "caller=c daemon=unset extra=y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.runCmd(e.cli(tc.args, "ONLY_CALLER=c")).want(t, 0)
			if got := strings.TrimSpace(r.stdout); got != tc.want {
				t.Errorf("stdout %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExecStdin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	data := "line 1\nbinary \x00\xff\nno newline at the end"

	cmd := e.cli([]string{"exec", "-c", "cat; echo end"})
	cmd.Stdin = strings.NewReader(data)
	if r := e.runCmd(cmd).want(t, 0); r.stdout != "end\n" {
		t.Errorf("without -i: stdout %q, want only %q (stdin must be /dev/null)", r.stdout, "end\n")
	}

	cmd = e.cli([]string{"exec", "-i", "-c", "cat; echo; echo end"})
	cmd.Stdin = strings.NewReader(data)
	if r := e.runCmd(cmd).want(t, 0); r.stdout != data+"\nend\n" {
		t.Errorf("with -i: stdout %q, want %q (EOF must reach the command)", r.stdout, data+"\nend\n")
	}
}

func TestExecJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)

	r := e.run("exec", "--json", "-c", `printf out; printf err >&2; exit 3`).want(t, 3)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%q", err, r.stdout)
	}
	keys := []string{"exit_status", "exit_code", "signal", "core_dumped", "timed_out", "cancelled", "interrupted", "session_lost",
		"message", "session", "pid", "queued_at", "started_at", "finished_at", "queue_us", "run_us", "total_us", "stdout", "stderr"}
	for _, k := range keys {
		if _, ok := got[k]; !ok {
			t.Errorf("key %q missing from %s", k, r.stdout)
		}
	}
	if len(got) != len(keys) {
		t.Errorf("keys beyond %v in %s", keys, r.stdout)
	}
	want := map[string]any{"exit_status": 3.0, "exit_code": 3.0, "signal": 0.0, "timed_out": false, "cancelled": false, "interrupted": false,
		"session_lost": false, "stdout": "out", "stderr": "err"}
	for k, v := range want {
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("%s: -want +got\n%s", k, diff)
		}
	}
	if r.stderr != "" {
		t.Errorf("stderr %q, want nothing (output is in the JSON)", r.stderr)
	}

	r = e.run("exec", "--json", "--timeout", "200ms", "--", "sh", "-c", `printf '\377'; exec sleep 30`).want(t, 124)
	var timedOut struct {
		ExitStatus   int    `json:"exit_status"`
		Signal       int    `json:"signal"`
		TimedOut     bool   `json:"timed_out"`
		StdoutBase64 []byte `json:"stdout_base64"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &timedOut); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	if !timedOut.TimedOut || timedOut.ExitStatus != 124 || string(timedOut.StdoutBase64) != "\xff" {
		t.Errorf("timed out call: %+v from %s", timedOut, r.stdout)
	}

	r = e.run("exec", "--json", "--", "no-such-program-mti").want(t, 127)
	if diff := cmp.Diff(`{"exit_status":127,"error":"no-such-program-mti: command not found"}`+"\n", r.stdout); diff != "" {
		t.Errorf("not found: -want +got\n%s", diff)
	}
}

func TestExecStickySession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	e.run("exec", "--session", "s1", "-c", "cd /usr; STATE=kept; f() { echo func; }").want(t, 0)
	r := e.run("exec", "--session", "s1", "-c", `echo "$STATE $(pwd)"; f`).want(t, 0)
	if r.stdout != "kept /usr\nfunc\n" {
		t.Errorf("sticky session: stdout %q", r.stdout)
	}
	r = e.run("exec", "-c", `echo "${STATE-none}"; type f >/dev/null 2>&1 || echo nofunc`).want(t, 0)
	if r.stdout != "none\nnofunc\n" {
		t.Errorf("isolated call sees sticky state: stdout %q", r.stdout)
	}
	r = e.run("exec", "--session", "s2", "-c", `echo "${STATE-none}"`).want(t, 0)
	if r.stdout != "none\n" {
		t.Errorf("another session sees s1's state: stdout %q", r.stdout)
	}
}
