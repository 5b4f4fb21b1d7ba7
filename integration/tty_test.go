//go:build linux

package integration

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/mothreads/mothreads/internal/proctest"
	"golang.org/x/sys/unix"
)

// ptyRun is a mothreads process on a pseudo-terminal of its own (its
// controlling terminal, as in an interactive shell).
type ptyRun struct {
	cmd    *exec.Cmd
	master *os.File
	tty    *os.File      // the terminal side, kept open to read its mode
	before *unix.Termios // its mode before mothreads started
	out    *proctest.Buffer
	done   chan struct{}
}

// startOnPTY starts mothreads with args on a new 33x101 terminal.
func startOnPTY(t *testing.T, e *env, args ...string) *ptyRun {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 33, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	r := &ptyRun{cmd: e.cli(args), master: master, tty: tty, out: new(proctest.Buffer), done: make(chan struct{})}
	r.cmd.Stdin, r.cmd.Stdout, r.cmd.Stderr = tty, tty, tty
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	// Read before the start: mothreads may have made it raw by the time
	// Start returns (under load, 1 run in many).
	r.before = termios(t, tty)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			r.out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	go func() {
		r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
		master.Close() // ends the reader
		tty.Close()
		<-readDone
	})
	return r
}

// expect waits until the terminal shows s.
func (r *ptyRun) expect(t *testing.T, s string) {
	t.Helper()
	if !r.out.WaitFor(s, cliBound, nil) {
		t.Fatalf("the terminal never showed %q; it shows %q", s, r.out.String())
	}
}

// exit waits for the process and returns its exit status.
func (r *ptyRun) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(cliBound):
		t.Fatalf("mothreads did not exit; the terminal shows %q", r.out.String())
	}
	return r.cmd.ProcessState.ExitCode()
}

func termios(t *testing.T, f *os.File) *unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio
}

func TestTTY(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	r := startOnPTY(t, e, "exec", "-t", "--", "bash", "-c", `tty; stty size; echo ready; read -r line; echo "got:$line"`)
	before := r.before
	if before.Lflag&unix.ICANON == 0 {
		t.Fatal("the test's terminal does not start in canonical mode")
	}
	r.expect(t, "ready")
	if during := termios(t, r.tty); during.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Errorf("local terminal not in raw mode while the command runs: lflag %#x", during.Lflag)
	}
	r.master.Write([]byte("hello\r"))
	r.expect(t, "got:hello")
	if code := r.exit(t); code != 0 {
		t.Errorf("exit status %d; terminal: %q", code, r.out.String())
	}
	out := r.out.String()
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "33 101") {
		t.Errorf("remote terminal: want a /dev/pts/N of size 33 101; the terminal shows %q", out)
	}
	after := termios(t, r.tty)
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag || after.Cflag != before.Cflag {
		t.Errorf("terminal mode not restored: before %+v, after %+v", before, after)
	}
}

func TestTTYForwardsWindowSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	r := startOnPTY(t, e, "exec", "-t", "--", "bash", "-c", `trap 'stty size; exit 0' WINCH; echo ready; while :; do sleep 30 & wait $!; done`)
	r.expect(t, "ready")
	if err := pty.Setsize(r.master, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "40 120")
	if code := r.exit(t); code != 0 {
		t.Errorf("exit status %d; terminal: %q", code, r.out.String())
	}
}

// TestTTYRestoredWhenCancelled: SIGTERM to the CLI cancels the call, and
// the terminal is restored on that way out too.
func TestTTYRestoredWhenCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	r := startOnPTY(t, e, "exec", "-t", "--", "bash", "-c", `echo ready; while :; do sleep 30 & wait $!; done`)
	before := r.before
	r.expect(t, "ready")
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.exit(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	after := termios(t, r.tty)
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal mode not restored after SIGTERM: before %+v, after %+v", before, after)
	}
}

func TestTTYNeedsATerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	cmd := e.cli([]string{"exec", "-t", "--", "true"})
	cmd.Stdin = strings.NewReader("")
	r := e.runCmd(cmd).want(t, 125)
	if !strings.Contains(r.stderr, "-t needs a terminal on stdin") {
		t.Errorf("stderr %q", r.stderr)
	}
}
