//go:build unix

package daemon_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc/codes"
)

// nonUTF8Tree makes, in a new temporary directory, a directory whose name
// is not UTF-8 holding an executable script whose name is not UTF-8 either;
// the script prints its directory, its arguments and $MT_BYTES, each
// followed by a NUL. It returns the directory and the script's name.
func nonUTF8Tree(t *testing.T) (dir, prog string) {
	t.Helper()
	dir = filepath.Join(shortTempDir(t), "d\xe9j\xe0")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	prog = "caf\xe9\xff.sh"
	script := "#!/bin/sh\nprintf '%s\\0' \"$(pwd)\" \"$@\" \"$MT_BYTES\"\n"
	if err := os.WriteFile(filepath.Join(dir, prog), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, prog
}

// TestNonUTF8RawRequests sends hand-made requests with bytes that are not
// UTF-8 in every text field (argv, script, cwd, base_cwd, env, base_env)
// straight to the daemon: each runs as a spawned command would, with the
// exact bytes, on Exec, Run and Attach (M7).
func TestNonUTF8RawRequests(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	dir, prog := nonUTF8Tree(t)
	arg, val := "\xff\xfeA", "v\xe9\x80"
	want := dir + "\x00" + arg + "\x00" + val + "\x00"
	for _, tc := range []struct {
		name string
		cmd  *pb.Command
		want string
	}{
		{"argv-cwd-env", &pb.Command{Argv: bs("./"+prog, arg), Cwd: []byte(dir), Env: bs("MT_BYTES=" + val)}, want},
		{"argv-base", &pb.Command{Argv: bs("./"+prog, arg), BaseCwd: []byte(dir),
			BaseEnv: &pb.BaseEnv{Vars: bs("PATH=/usr/bin:/bin", "MT_BYTES="+val, "OTHER=\xc3\x28")}}, want},
		{"script", &pb.Command{Script: []byte("cd \"$1\" 2>/dev/null; ./'" + prog + "' '" + arg + "'"), Cwd: []byte(dir),
			Env: bs("MT_BYTES=" + val)}, want},
		{"script-echo", &pb.Command{Script: []byte("printf '%s' '\xe9\xff'; printf '\xfe' >&2")}, "\xe9\xff"},
		{"sticky", &pb.Command{Script: []byte("./'" + prog + "' '" + arg + "'"), Session: "bytes", BaseCwd: []byte(dir),
			BaseEnv: &pb.BaseEnv{Vars: bs("PATH=/usr/bin:/bin", "MT_BYTES="+val)}}, want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := d.rpc.Run(context.Background(), &pb.RunRequest{Command: tc.cmd})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := string(resp.GetStdout()); got != tc.want || resp.GetExited().GetExitCode() != 0 {
				t.Errorf("Run: stdout %q exit %d (stderr %q), want %q and 0", got, resp.GetExited().GetExitCode(), resp.GetStderr(), tc.want)
			}
			st, err := d.rpc.Exec(context.Background(), &pb.ExecRequest{Command: tc.cmd})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			var out bytes.Buffer
			var exited *pb.Exited
			for exited == nil {
				ev, err := st.Recv()
				if err != nil {
					t.Fatalf("Exec: %v", err)
				}
				out.Write(ev.GetStdout())
				exited = ev.GetExited()
			}
			if out.String() != tc.want || exited.GetExitCode() != 0 {
				t.Errorf("Exec: stdout %q exit %d, want %q and 0", out.String(), exited.GetExitCode(), tc.want)
			}
		})
	}
}

// TestNonUTF8Refusals: a refusal whose message quotes bytes that are not
// UTF-8 (a missing directory, an unknown program) still names its field,
// in the message and in the details, instead of failing to encode.
func TestNonUTF8Refusals(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	for _, tc := range []struct {
		name  string
		cmd   *pb.Command
		code  codes.Code
		field string
	}{
		{"cwd", &pb.Command{Script: []byte("true"), Cwd: []byte("/nonexistent/\xe9")}, codes.NotFound, "cwd"},
		{"argv0", &pb.Command{Argv: bs("no-such-\xff-command")}, codes.NotFound, "argv[0]"},
		{"env-name", &pb.Command{Script: []byte("true"), Env: bs("B\xe9D=1")}, codes.InvalidArgument, "env[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.rpc.Run(context.Background(), &pb.RunRequest{Command: tc.cmd})
			wantFieldError(t, err, tc.code, tc.field)
		})
	}
}

// TestNonUTF8Client runs, through the Go client's Cmd (os/exec's shape) and
// Exec, a program whose name is not UTF-8 in a directory whose name is not
// UTF-8, with an argument and an environment variable that are not UTF-8
// either: the program gets exactly those bytes (M7).
func TestNonUTF8Client(t *testing.T) {
	d := startDaemon(t, daemon.Config{})
	dir, prog := nonUTF8Tree(t)
	arg, val := "\xff\xfeA", "v\xe9\x80"
	want := dir + "\x00" + arg + "\x00" + val + "\x00"

	cmd := client.Command(context.Background(), "./"+prog, arg)
	cmd.Client, cmd.Dir = d.client, dir
	cmd.Env = append(os.Environ(), "MT_BYTES="+val, "JUNK_\xe9=x", "LANGISH=\xc3\x28")
	out, err := cmd.Output()
	if err != nil || string(out) != want {
		t.Errorf("Cmd.Output: %q, %v; want %q", out, err, want)
	}

	var stdout bytes.Buffer
	res, err := d.client.Exec(context.Background(), &client.Request{Script: "./'" + prog + "' \"$@\" '" + arg + "'",
		BaseDir: dir, BaseEnv: []string{"PATH=/usr/bin:/bin", "MT_BYTES=" + val}}, &stdout, nil)
	if err != nil || !res.Success() || stdout.String() != want {
		t.Errorf("Exec: %q, %v, %v; want %q", stdout.String(), res, err, want)
	}
}
