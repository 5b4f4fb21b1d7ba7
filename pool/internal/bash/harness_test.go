//go:build linux

package bash

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// The harness drives session.bash with no pool: it starts bash as launch.go
// does (without the launcher), holds the control socket, the signal pipe
// and the slots' FIFOs itself, and speaks the protocol of protocol.go
// message by message, so that each test can say exactly what the shell
// gets and must answer.

// harnessWait bounds every wait for the shell: a hung shell fails the test
// instead of hanging it.
const harnessWait = 10 * time.Second

type harness struct {
	t      *testing.T
	sticky bool
	dir    string // the session directory (its FIFOs)
	cmd    *exec.Cmd
	ctl    *os.File // our end of the control socket, on the poller
	r      *bufio.Reader
	sig    *os.File // isolated: the signal pipe's read end
	tty    *os.File // sticky: the master of the shell's terminal
	ttyOut chan []byte
	diag   string // the diagnostics file (fds 1 and 2)
	exited chan struct{}
	err    error   // from cmd.Wait, once exited is closed
	slots  []*slot // isolated: forked, closed at the end
}

// launchShell starts a session's shell with env as its environment; it
// waits for its start (see start).
func launchShell(t *testing.T, sticky bool, env []string) *harness {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	h := &harness{t: t, sticky: sticky, dir: t.TempDir(), exited: make(chan struct{})}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(fds[0], true)
	h.ctl = os.NewFile(uintptr(fds[0]), "control")
	theirs := os.NewFile(uintptr(fds[1]), "control")
	h.r = bufio.NewReader(h.ctl)
	h.diag = filepath.Join(t.TempDir(), "diag")
	diag, err := os.Create(h.diag)
	if err != nil {
		t.Fatal(err)
	}
	argv := []string{"mothreads-harness", "--noprofile", "--norc", "-c", bootIsolated(h.dir), "bash"}
	if sticky {
		argv = []string{"mothreads-harness", "--noprofile", "--norc", "-m", "-s"}
	}
	h.cmd = &exec.Cmd{Path: bash, Args: argv, Env: env, Dir: "/"}
	h.cmd.ExtraFiles = []*os.File{nil, theirs}
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	var sigW, ttyW *os.File
	if sticky {
		h.tty, ttyW, err = pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal: %v", err)
		}
		h.cmd.Stdin, h.cmd.Stdout, h.cmd.Stderr = theirs, ttyW, ttyW
		h.cmd.SysProcAttr.Setctty, h.cmd.SysProcAttr.Ctty = true, 2
	} else {
		h.sig, sigW, err = os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		h.cmd.ExtraFiles = append(h.cmd.ExtraFiles, sigW)
		h.cmd.Stdout, h.cmd.Stderr = diag, diag
	}
	err = h.cmd.Start()
	proc.CloseAll(theirs, sigW, ttyW, diag)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		h.err = h.cmd.Wait()
		close(h.exited)
	}()
	if sticky {
		// The terminal is drained, as the pool drains it (see bgLog).
		h.ttyOut = make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(h.tty)
			h.ttyOut <- b
		}()
	}
	t.Cleanup(h.close)
	return h
}

// start sends the start blocks: session.bash, the mode, the bash path, the
// session directory and init.
func (h *harness) start(init string) {
	h.t.Helper()
	var msg []byte
	mode := "isolated"
	if h.sticky {
		msg, mode = []byte(bootSticky), "sticky"
	}
	for _, b := range []string{sessionProgram, mode, h.cmd.Path, h.dir, init} {
		msg = appendBlock(msg, b)
	}
	h.send(msg)
}

// startShell launches a shell and reads its start records, which must be
// those of a good start.
func startShell(t *testing.T, sticky bool, init string) (*harness, *shellState) {
	t.Helper()
	h := launchShell(t, sticky, []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent", "LC_ALL=C"})
	h.start(init)
	found, info, err := h.records()
	if err != nil {
		t.Fatalf("start records: %v%s", err, h.diagnostics())
	}
	if found.umask == "" || info.status != 0 {
		t.Fatalf("start: found %+v, info %+v", found, info)
	}
	return h, info
}

// records reads the found and info records, and the forker report of an
// isolated shell.
func (h *harness) records() (found, info *shellState, err error) {
	h.ctl.SetReadDeadline(time.Now().Add(harnessWait))
	if found, err = readRecord(h.r, 'i'); err != nil {
		return nil, nil, fmt.Errorf("found record: %w", err)
	}
	if info, err = readRecord(h.r, 'I'); err != nil {
		return found, nil, fmt.Errorf("info record: %w", err)
	}
	if info.status == 0 && !h.sticky {
		info.forker, err = readForker(h.r)
	}
	return found, info, err
}

func (h *harness) send(b []byte) {
	h.t.Helper()
	if _, err := h.ctl.Write(b); err != nil {
		h.t.Fatalf("control socket: %v%s", err, h.diagnostics())
	}
}

// report reads the next report line.
func (h *harness) report() (report, error) {
	h.ctl.SetReadDeadline(time.Now().Add(harnessWait))
	line, err := h.r.ReadString('\n')
	if err != nil {
		return report{}, fmt.Errorf("report: %w (read %q)", err, line)
	}
	return parseReport(strings.TrimSuffix(line, "\n"))
}

// waitExit waits for the shell to exit and returns cmd.Wait's error.
func (h *harness) waitExit() error {
	h.t.Helper()
	select {
	case <-h.exited:
		return h.err
	case <-time.After(harnessWait):
		h.t.Fatalf("the shell did not exit%s", h.diagnostics())
		return nil
	}
}

// close ends the session as the pool does (the end of the control stream,
// the slots' FIFOs closed), and checks that nothing of it is left.
func (h *harness) close() {
	var exits []*signals.Signal
	for _, sl := range h.slots {
		if sl.pidfd >= 0 {
			exited, stop := proc.WatchPidfd(sl.pidfd)
			defer stop()
			exits = append(exits, exited)
		}
		sl.close()
	}
	h.ctl.Close()
	limit := time.After(harnessWait)
	select {
	case <-h.exited:
	case <-limit:
		h.t.Errorf("the shell did not exit at the end of the control stream%s", h.diagnostics())
	}
	for _, exited := range exits {
		select {
		case <-exited.Done():
		case <-limit:
			h.t.Errorf("a child did not exit at the end of its input")
		}
	}
	// What is left of a child is a zombie of init's (without the launcher
	// the shell is no subreaper), which takes no part.
	for _, p := range proc.SessionMembers(h.cmd.Process.Pid) {
		if st := proc.Stat(p); st.State != "Z" && st.State != "X" && st.State != "" {
			h.t.Errorf("process %d (%+v) of the session was left after it ended", p, st)
		}
	}
	proc.KillSession(h.cmd.Process.Pid, syscall.SIGKILL)
	<-h.exited
	if h.sig != nil {
		h.sig.Close()
	}
	if h.tty != nil {
		h.tty.Close()
		<-h.ttyOut
	}
}

func (h *harness) diagnostics() string {
	b, _ := os.ReadFile(h.diag)
	if len(b) == 0 {
		return ""
	}
	return "\ndiagnostics:\n" + string(b)
}

// fork asks an isolated shell for the child of slot n and waits until it is
// ready; its end FIFO is made as the pool makes it.
func (h *harness) fork(n int) *slot {
	h.t.Helper()
	sl, err := newSlot(h.dir, n)
	if err != nil {
		h.t.Fatal(err)
	}
	h.slots = append(h.slots, sl)
	h.send(forkMsg(n, sl.token))
	for !sl.sawFork || !sl.ready.Fired() {
		r, err := h.report()
		if err != nil {
			h.t.Fatalf("slot %d: %v%s", n, err, h.diagnostics())
		}
		switch {
		case r.kind == 'k' && r.slot == n && !sl.sawFork && (sl.pid == 0 || sl.pid == r.pid):
			sl.sawFork, sl.pid = true, r.pid
		case r.kind == 'r' && r.slot == n && !sl.ready.Fired() && (sl.pid == 0 || sl.pid == r.pid):
			sl.pid = r.pid
			sl.ready.Go()
		default:
			h.t.Fatalf("slot %d: report %+v out of turn", n, r)
		}
	}
	if p, _ := proc.Parent(sl.pid); p == h.cmd.Process.Pid {
		h.t.Errorf("slot %d's child is the shell's: it must be the forker's", n)
	}
	sl.pidfd, err = unix.PidfdOpen(sl.pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		h.t.Fatalf("slot %d: pidfd: %v", n, err)
	}
	sl.unlink()
	sl.end = (&Shell{dir: h.dir, log: slog.New(slog.DiscardHandler)}).endFIFO(sl.pid)
	if sl.end == nil {
		h.t.Fatal("no end FIFO")
	}
	return sl
}

// callResult is how an isolated call went, as the harness saw it.
type callResult struct {
	setup          report // "s" or "e"
	stdout, stderr string
	status         int  // the kernel's
	ended          bool // the child wrote an end report ...
	endStatus      int  // ... with this status
}

// call runs j in slot sl's child: the job (and stdin) on the input FIFO,
// then the set-up report, the output, the end report and the exit status.
func (h *harness) call(sl *slot, j *job, stdin string) callResult {
	h.t.Helper()
	j.slot = sl.n
	end := watchEnd(sl)
	in := appendBlock(nil, encodeJob(j))
	in = append(in, stdin...)
	wrote := make(chan error, 1)
	go func() {
		_, err := sl.i.Write(in)
		sl.i.Close()
		wrote <- err
	}()
	var res callResult
	var err error
	if res.setup, err = h.report(); err != nil {
		h.t.Fatalf("set-up report: %v%s", err, h.diagnostics())
	}
	var wg sync.WaitGroup
	read := func(f *os.File, into *string) {
		defer wg.Done()
		f.SetReadDeadline(time.Now().Add(harnessWait))
		b, err := io.ReadAll(f)
		if err != nil {
			h.t.Errorf("output: %v", err)
		}
		*into = string(b)
	}
	wg.Add(2)
	go read(sl.o, &res.stdout)
	go read(sl.e, &res.stderr)
	wg.Wait()
	if err := <-wrote; err != nil {
		h.t.Fatalf("writing the job: %v", err)
	}
	exited, stop := proc.WatchPidfd(sl.pidfd)
	defer stop()
	select {
	case <-exited.Done():
	case <-time.After(harnessWait):
		h.t.Fatalf("slot %d's child did not exit", sl.n)
	}
	ws, err := proc.ExitStatus(sl.pidfd, sl.pid)
	if err != nil {
		h.t.Fatalf("exit status: %v", err)
	}
	res.status = ws.ExitStatus()
	if ws.Signaled() {
		res.status = 128 + int(ws.Signal())
	}
	// The end report was written before the child exited.
	end.feed.sync()
	res.ended = end.ended.Fired()
	res.endStatus = end.status
	sl.end.Close()
	<-end.done
	sl.end = nil
	return res
}

// shutWrite ends the control stream to the shell, keeping the other way.
func (h *harness) shutWrite() {
	rc, err := h.ctl.SyscallConn()
	if err != nil {
		h.t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_WR) })
}
