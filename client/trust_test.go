//go:build unix

package client_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc"
)

// plantEnv selects the helper mode of TestMain: the helper, run as another
// user, makes the directory named by the variable (mode plantModeEnv, in
// octal) and serves a fake daemon on mothreads.sock in it, as an attacker
// who got there first would. It prints "ready", then "conn" for every
// connection it accepts, and exits when its stdin closes.
const (
	plantEnv     = "MOTHREADS_CLIENT_TEST_PLANT"
	plantModeEnv = "MOTHREADS_CLIENT_TEST_PLANT_MODE"
)

// runPlant is the helper mode.
func runPlant(dir string) int {
	mode, err := strconv.ParseUint(os.Getenv(plantModeEnv), 8, 32)
	if err != nil {
		fmt.Println("mode:", err)
		return 1
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		fmt.Println(err)
		return 1
	}
	if err := os.Chmod(dir, os.FileMode(mode)); err != nil {
		fmt.Println(err)
		return 1
	}
	lis, err := net.Listen("unix", filepath.Join(dir, "mothreads.sock"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	srv := grpc.NewServer()
	pb.RegisterMothreadsServer(srv, &fake{})
	go srv.Serve(countingListener{lis})
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	srv.Stop()
	return 0
}

// countingListener prints "conn" for every connection it accepts.
type countingListener struct{ net.Listener }

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		fmt.Println("conn")
	}
	return c, err
}

// plant runs the helper as nobody in dir (which must not exist) and returns
// a function that stops it and returns how many connections it accepted.
func plant(t *testing.T, dir string, mode os.FileMode) (stop func() int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run a planted daemon as another user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("needs setpriv (util-linux) to run a planted daemon as another user")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for p := filepath.Dir(binDir); p != "/"; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			os.Chmod(p, fi.Mode().Perm()|0o001) // t.TempDir's parent is 0700
		}
	}
	bin := filepath.Join(binDir, "client.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	// Under ForkLock: a child forked meanwhile would hold the copy open for
	// writing until its exec, and exec of the copy would fail (ETXTBSY).
	syscall.ForkLock.Lock()
	err = os.WriteFile(bin, data, 0o755)
	syscall.ForkLock.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), plantEnv+"="+dir, plantModeEnv+"="+strconv.FormatUint(uint64(mode), 8))
	cmd.Dir = binDir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("the planted daemon did not start: %q", lines.Text())
	}
	var stopped bool
	var conns int
	stop = func() int {
		if !stopped {
			stopped = true
			stdin.Close()
			for lines.Scan() {
				if lines.Text() == "conn" {
					conns++
				}
			}
			cmd.Wait()
		}
		return conns
	}
	t.Cleanup(func() { stop() })
	return stop
}

// stickyBase returns a new directory that is like /tmp: root's, world
// writable, sticky.
func stickyBase(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	if err := os.Chmod(filepath.Dir(base), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	return base
}

func statusVia(t *testing.T, sock string, opts ...client.Option) error {
	t.Helper()
	c, err := client.Dial(context.Background(), append([]client.Option{client.WithSocket(sock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Status(ctx)
	return err
}

func wantUntrusted(t *testing.T, err error, contains string) {
	t.Helper()
	var te *client.TrustError
	if !errors.As(err, &te) || !errors.Is(err, client.ErrUntrusted) || errors.Is(err, client.ErrUnavailable) || !strings.Contains(err.Error(), contains) {
		t.Errorf("err = %v, want a *TrustError (not ErrUnavailable) containing %q", err, contains)
	}
}

// TestPlantedSocketDirectory is H1 of the security report: another user
// creates the victim's default socket directory first, world-writable, and
// serves a fake daemon in it. The client refuses before it connects: the
// fake never sees a connection, so it gets no command, no environment.
func TestPlantedSocketDirectory(t *testing.T) {
	dir := filepath.Join(stickyBase(t), "mothreads-1002")
	stop := plant(t, dir, 0o777)
	sock := filepath.Join(dir, "mothreads.sock")
	wantUntrusted(t, statusVia(t, sock), "socket directory "+dir+" is owned by uid 65534, not by root; refusing to use it")
	// As the victim (uid 1002) would check it.
	wantUntrusted(t, statusVia(t, sock, client.WithDaemonUID(1002)), "socket directory "+dir+" is owned by uid 65534, not by uid 1002 or root")
	// Trusting the planter does not make a world-writable directory safe.
	wantUntrusted(t, statusVia(t, sock, client.WithDaemonUID(65534)), "socket directory "+dir+" is writable by its group or others")
	cmd := client.Command(context.Background(), "echo", "secret")
	c, err := client.Dial(context.Background(), client.WithSocket(sock))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd.Client = c
	cmd.Env = []string{"SECRET_API_KEY=sk-live-123456"}
	if _, err := cmd.Output(); !errors.Is(err, client.ErrUntrusted) {
		t.Errorf("Cmd.Output: %v, want ErrUntrusted", err)
	}
	if n := stop(); n != 0 {
		t.Errorf("the planted daemon accepted %d connections, want none", n)
	}
}

// TestRootUsesAnotherUsersDaemonOnlyWhenTold: a daemon of another user, in
// its own 0700 directory, is refused to a root client by default (root's
// calls and environment would run as that user) and used with
// WithDaemonUID.
func TestRootUsesAnotherUsersDaemonOnlyWhenTold(t *testing.T) {
	dir := filepath.Join(stickyBase(t), "mothreads-65534")
	stop := plant(t, dir, 0o700)
	sock := filepath.Join(dir, "mothreads.sock")
	wantUntrusted(t, statusVia(t, sock), "is owned by uid 65534, not by root")
	if err := statusVia(t, sock, client.WithDaemonUID(65534)); err != nil {
		t.Errorf("with WithDaemonUID(65534): %v", err)
	}
	if n := stop(); n != 1 {
		t.Errorf("the daemon accepted %d connections, want exactly the trusted one", n)
	}
}

// TestPeerCredentials: a socket file and directory that pass (root's), but
// a listener that runs as another user (its socket moved there and given
// to root): the daemon's credentials on the connection decide.
func TestPeerCredentials(t *testing.T) {
	base := stickyBase(t)
	theirs := filepath.Join(base, "theirs")
	stop := plant(t, theirs, 0o700)
	mine := filepath.Join(base, "mine")
	if err := os.Mkdir(mine, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(mine, "mothreads.sock")
	if err := os.Rename(filepath.Join(theirs, "mothreads.sock"), sock); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(sock, 0, 0); err != nil {
		t.Fatal(err)
	}
	wantUntrusted(t, statusVia(t, sock), "the daemon on "+sock+" runs as uid 65534, not as root")
	// The error names the daemon's uid, which only a connected socket's
	// peer credentials tell: the client connected, checked and closed. The
	// planted daemon may stop before it accepts that connection from its
	// backlog (seen under load), so it counts at most one.
	if n := stop(); n > 1 {
		t.Errorf("connections: %d, want at most 1 (connected, checked, closed before sending)", n)
	}
}
