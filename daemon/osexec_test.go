//go:build linux

package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
)

// outcome is what a caller of Output sees: the output, and how the command
// ended.
type outcome struct {
	Stdout   string
	Stderr   string // ExitError.Stderr, as Output captures it
	Failed   bool   // an error came back at all
	ExitCode int    // ExitError.ExitCode, -1 for no ExitError
}

// TestCommandOutputMatchesOsExec is the promise of the client package: the
// same Command(...).Output() through a real daemon gives exactly what
// os/exec gives: output, exit code and captured stderr.
func TestCommandOutputMatchesOsExec(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	dir := t.TempDir()
	cases := []struct {
		name  string
		argv  []string
		env   []string
		dir   string
		stdin string
	}{
		{name: "echo", argv: []string{"echo", "hi"}},
		{name: "no newline", argv: []string{"printf", "foo"}},
		{name: "argv kept whole", argv: []string{"printf", "[%s]\n", "a b", "*", "$HOME", ""}},
		{name: "false", argv: []string{"false"}},
		{name: "binary output", argv: []string{"sh", "-c", `printf '\000\377\376x\n'; printf 'e\000rr' >&2; exit 3`}},
		{name: "stderr and status", argv: []string{"sh", "-c", "echo out; echo err >&2; exit 42"}},
		{name: "stdin", argv: []string{"tr", "a-z", "A-Z"}, stdin: "hello\nworld"},
		{name: "no stdin", argv: []string{"cat"}},
		{name: "dir", argv: []string{"pwd"}, dir: dir},
		{name: "env", argv: []string{"sh", "-c", `printf '%s|%s' "$A" "${HOME-unset}"`}, env: []string{"A=1 2", "PATH=" + os.Getenv("PATH")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			local := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
			remote := client.Command(ctx, c.argv[0], c.argv[1:]...)
			remote.Client = d.client
			local.Dir, remote.Dir = c.dir, c.dir
			local.Env, remote.Env = c.env, c.env
			if c.stdin != "" {
				local.Stdin, remote.Stdin = strings.NewReader(c.stdin), strings.NewReader(c.stdin)
			}
			out, err := local.Output()
			want := outcome{Stdout: string(out), Failed: err != nil, ExitCode: -1}
			var lee *exec.ExitError
			if errors.As(err, &lee) {
				want.ExitCode, want.Stderr = lee.ExitCode(), string(lee.Stderr)
			}
			out, err = remote.Output()
			got := outcome{Stdout: string(out), Failed: err != nil, ExitCode: -1}
			var ree *client.ExitError
			if errors.As(err, &ree) {
				got.ExitCode, got.Stderr = ree.ExitCode(), string(ree.Stderr)
			} else if err != nil {
				t.Fatalf("remote: %v (not an *ExitError)", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("os/exec (-) and mothreads (+) differ:\n%s", diff)
			}
		})
	}
}

// TestCommandNotFoundMatchesOsExec: a program that does not exist is an
// error before anything runs, recognisable as exec.ErrNotFound, as with
// os/exec.
func TestCommandNotFoundMatchesOsExec(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	const name = "no-such-program-mothreads"
	_, lerr := exec.Command(name).Output()
	if !errors.Is(lerr, exec.ErrNotFound) {
		t.Fatalf("os/exec: %v", lerr)
	}
	remote := client.Command(context.Background(), name)
	remote.Client = d.client
	var stdout bytes.Buffer
	remote.Stdout = &stdout
	err := remote.Run()
	if !errors.Is(err, exec.ErrNotFound) || !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("mothreads: %v; want exec.ErrNotFound and client.ErrNotFound", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("output %q from a program that does not exist", stdout.String())
	}
}

// TestDefaultSocketPathMatchesClient: the daemon keeps its own copy of the
// socket rule (it may not import the client for it), and a daemon and a
// client started in the same environment must meet on the same path.
func TestDefaultSocketPathMatchesClient(t *testing.T) {
	for _, env := range [][2]string{{"", ""}, {"/run/x/m.sock", ""}, {"", "/run/user/1000"}, {"/run/x/m.sock", "/run/user/1000"}} {
		t.Setenv("MOTHREADS_SOCKET", env[0])
		t.Setenv("XDG_RUNTIME_DIR", env[1])
		if d, c := daemon.DefaultSocketPath(), client.DefaultSocketPath(); d != c {
			t.Errorf("MOTHREADS_SOCKET=%q XDG_RUNTIME_DIR=%q: daemon %q, client %q", env[0], env[1], d, c)
		}
	}
}
