//go:build linux

package integration

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
)

// TestSocketActivation starts mothreadsd through systemd's activation
// protocol: systemd-socket-activate (Debian's systemd package) listens on
// the socket and starts the daemon on the first connection, passing the
// socket as descriptor 3 with LISTEN_FDS and LISTEN_PID.
func TestSocketActivation(t *testing.T) {
	t.Parallel()
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("needs systemd-socket-activate (Debian's systemd package); TestSocketActivationByHand covers the protocol")
	}
	e := newEnv(t)
	sock := filepath.Join(e.dir, "act.sock")
	cmd := exec.Command(activate, "-l", sock, bin.mothreadsd, "--socket", sock, "--min-idle", "1", "--log-level", "debug")
	cmd.Env = e.environ()
	logs := new(proctest.Buffer)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); <-done })
	if !logs.WaitFor("Listening on", daemonStartBound, done) {
		t.Fatalf("systemd-socket-activate did not listen:\n%s", logs)
	}
	checkActivated(t, e, sock, logs)
}

// TestSocketActivationByHand sets up the same environment itself: the
// socket made by the test, passed as descriptor 3, LISTEN_FDS=1 and
// LISTEN_PID set to the daemon's own pid (by a shell that then execs it).
func TestSocketActivationByHand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sock := filepath.Join(e.dir, "act.sock")
	l, err := listenUnixKeep(sock)
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"`, bin.mothreadsd, "--socket", sock, "--min-idle", "1", "--log-level", "debug")
	cmd.Env = e.environ()
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	logs := new(proctest.Buffer)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); <-done })
	checkActivated(t, e, sock, logs)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(daemonStopBound):
		t.Fatal("the activated daemon did not exit on SIGTERM")
	}
	if cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("exit status %d after SIGTERM:\n%s", cmd.ProcessState.ExitCode(), logs)
	}
}

// checkActivated runs a call through sock and checks that the daemon
// serves the activated socket and hides the protocol from its commands.
func checkActivated(t *testing.T, e *env, sock string, logs *proctest.Buffer) {
	t.Helper()
	r := e.runCmd(e.cli([]string{"exec", "--no-autostart", "-c", `echo "hi ${LISTEN_FDS:-none} ${LISTEN_PID:-none}"`}, "MOTHREADS_SOCKET="+sock))
	r.want(t, 0)
	if r.stdout != "hi none none\n" {
		t.Errorf("stdout %q, want the activation variables gone", r.stdout)
	}
	if !strings.Contains(logs.String(), "socket_activated=true") {
		t.Errorf("the daemon did not serve the activated socket:\n%s", logs)
	}
}

// listenUnixKeep makes a Unix listener that does not remove its file on
// close (the daemon serves the same socket after the test closed its copy).
func listenUnixKeep(path string) (*net.UnixListener, error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	l.SetUnlinkOnClose(false)
	return l, nil
}
