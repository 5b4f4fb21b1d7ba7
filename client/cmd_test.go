package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mothreads/mothreads/client"
)

// command is client.Command on d's client.
func (d *daemon) command(name string, args ...string) *client.Cmd {
	c := client.Command(context.Background(), name, args...)
	c.Client = d.client
	return c
}

func TestCmdOutput(t *testing.T) {
	d := startFake(t)
	out, err := d.command("echo", "hello", "world").Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "hello world\n" {
		t.Errorf("Output = %q, want %q", out, "hello world\n")
	}
}

func TestCmdOutputExitErrorCarriesStderr(t *testing.T) {
	d := startFake(t)
	cmd := d.command("fail", "3")
	_, err := cmd.Output()
	var ee *client.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v (%T), want *client.ExitError", err, err)
	}
	if ee.ExitCode() != 3 || !ee.Exited() || ee.Signal() != 0 || string(ee.Stderr) != "oops\n" || ee.Error() != "exit status 3" {
		t.Errorf("ExitError: code %d exited %v signal %v stderr %q error %q", ee.ExitCode(), ee.Exited(), ee.Signal(), ee.Stderr, ee.Error())
	}
	if cmd.Result == nil || cmd.Result.ExitCode != 3 {
		t.Errorf("cmd.Result = %v, want exit status 3", cmd.Result)
	}
}

func TestCmdExitErrorForSignalAndTimeout(t *testing.T) {
	d := startFake(t)
	var ee *client.ExitError
	if err := d.command("kill", "9").Run(); !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *client.ExitError", err)
	}
	if ee.ExitCode() != -1 || ee.Exited() || ee.Signal() != syscall.Signal(9) {
		t.Errorf("killed: code %d exited %v signal %v", ee.ExitCode(), ee.Exited(), ee.Signal())
	}
	if err := d.command("timeout").Run(); !errors.As(err, &ee) || !ee.TimedOut() || ee.ExitCode() != -1 {
		t.Errorf("timeout: err = %v, want a timed-out *client.ExitError", err)
	}
}

func TestCmdCombinedOutput(t *testing.T) {
	d := startFake(t)
	out, err := d.command("interleave").CombinedOutput()
	if err != nil || string(out) != "o1e1o2e2" {
		t.Errorf("CombinedOutput = %q, %v; want %q", out, err, "o1e1o2e2")
	}
}

func TestCmdOutputRefusesSetWriters(t *testing.T) {
	d := startFake(t)
	c := d.command("echo")
	c.Stdout = io.Discard
	if _, err := c.Output(); err == nil || err.Error() != "exec: Stdout already set" {
		t.Errorf("Output with Stdout set: %v", err)
	}
	c = d.command("echo")
	c.Stderr = io.Discard
	if _, err := c.CombinedOutput(); err == nil || err.Error() != "exec: Stderr already set" {
		t.Errorf("CombinedOutput with Stderr set: %v", err)
	}
}

func TestCmdStartWait(t *testing.T) {
	d := startFake(t)
	var out bytes.Buffer
	c := d.command("echo", "x")
	c.Stdout = &out
	if err := c.Wait(); err == nil || err.Error() != "exec: not started" {
		t.Errorf("Wait before Start: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if c.Process == nil || c.Process.PID != 4242 {
		t.Errorf("Process = %+v, want pid 4242", c.Process)
	}
	if err := c.Start(); err == nil || err.Error() != "exec: already started" {
		t.Errorf("second Start: %v", err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err == nil || err.Error() != "exec: Wait was already called" {
		t.Errorf("second Wait: %v", err)
	}
	if out.String() != "x\n" || !c.Result.Success() {
		t.Errorf("stdout %q, result %v", out.String(), c.Result)
	}
}

func TestCmdStdinStreams(t *testing.T) {
	d := startFake(t)
	r, w := io.Pipe()
	go func() {
		for _, s := range []string{"one ", "two ", "three"} {
			w.Write([]byte(s))
		}
		w.Close()
	}()
	c := d.command("cat")
	c.Stdin = r
	out, err := c.Output()
	if err != nil || string(out) != "one two three" {
		t.Errorf("Output = %q, %v", out, err)
	}
	if have := d.lastCall(t).method; have != "Attach" {
		t.Errorf("method = %s, want Attach", have)
	}
}

func TestCmdEnvAndDir(t *testing.T) {
	d := startFake(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MT_TEST_VAR", "from the caller")
	sub := filepath.Join(wd, "sub")
	pwd := []string{"PWD=" + sub}
	if runtime.GOOS == "windows" {
		pwd = nil
	}

	for _, tc := range []struct {
		name     string
		dir      string
		env      []string
		wantDir  string
		wantBase []string
	}{
		{name: "defaults", wantDir: wd, wantBase: os.Environ()},
		{name: "relative dir", dir: "sub", wantDir: sub, wantBase: append(os.Environ(), pwd...)},
		{name: "given env", env: []string{"ONLY=this"}, wantDir: wd, wantBase: []string{"ONLY=this"}},
		{name: "empty env", env: []string{}, wantDir: wd, wantBase: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := d.command("echo")
			c.Dir, c.Env, c.Timeout = tc.dir, tc.env, 3*time.Second
			if err := c.Run(); err != nil {
				t.Fatal(err)
			}
			cmd := d.lastCall(t).cmd
			// An explicit Dir is sent as cwd; the caller's own directory as
			// base_cwd, which a sticky session takes only when it is created.
			have, field := cmd.GetBaseCwd(), "base_cwd"
			if tc.dir != "" {
				have, field = cmd.GetCwd(), "cwd"
			}
			if string(have) != tc.wantDir {
				t.Errorf("%s = %q, want %q", field, have, tc.wantDir)
			}
			if cmd.GetBaseEnv() == nil {
				t.Fatal("base_env not sent")
			}
			if diff := cmp.Diff(tc.wantBase, strs(cmd.GetBaseEnv().GetVars()), cmp.Comparer(func(a, b []string) bool {
				return strings.Join(a, "\x00") == strings.Join(b, "\x00")
			})); diff != "" {
				t.Errorf("base_env (-want +have):\n%s", diff)
			}
			if len(cmd.GetEnv()) != 0 || cmd.GetTimeout().AsDuration() != 3*time.Second {
				t.Errorf("env %q timeout %v; want none and 3s", cmd.GetEnv(), cmd.GetTimeout().AsDuration())
			}
		})
	}
}

func TestCmdString(t *testing.T) {
	c := client.Command(context.Background(), "git", "log", "-1")
	if have := c.String(); have != "git log -1" {
		t.Errorf("String() = %q", have)
	}
	if have := c.Args; len(have) != 3 || have[0] != "git" {
		t.Errorf("Args = %q, want the name first", have)
	}
}

func TestCmdCancelReturnsContextError(t *testing.T) {
	d := startFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := client.Command(ctx, "block")
	c.Client = d.client
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	<-d.running
	cancel()
	if err := c.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
	if c.Result == nil || !c.Result.Cancelled {
		t.Errorf("Result = %v, want cancelled", c.Result)
	}
}

func TestCmdWithoutClientUsesDefaultSocket(t *testing.T) {
	d := startFake(t)
	t.Setenv("MOTHREADS_SOCKET", d.socket)
	t.Cleanup(func() {
		if err := client.CloseDefault(); err != nil {
			t.Errorf("CloseDefault: %v", err)
		}
	})
	for range 2 { // the second reuses the shared client
		out, err := client.Command(context.Background(), "echo", "via", "default").Output()
		if err != nil || string(out) != "via default\n" {
			t.Fatalf("Output = %q, %v", out, err)
		}
	}
}
