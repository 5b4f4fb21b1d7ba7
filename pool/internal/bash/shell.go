//go:build linux

package bash

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

//go:embed session.bash
var sessionProgram string

// Shell is one warm bash process, its session directory and its protocol
// state. See doc.go for the design and protocol.go for the messages.
type Shell struct {
	spec *driver.Spec
	name string
	log  *slog.Logger
	cmd  *exec.Cmd
	dir  string   // the session's private directory: the calls' FIFOs
	ctl  *os.File // the control socket, our end
	diag *diagTail
	tty  *os.File // sticky: the master of the shell's terminal

	// What the shell reported about itself after its init script.
	env      *driver.SessionEnv
	cwd      string
	internal map[string]bool // builtins and functions: argv[0] that the shell runs itself
	directOK bool            // init changed neither umask nor limits: externals may be spawned directly
	version  string

	// How calls end: the exit status comes from the kernel (pidfd) when
	// exact, else from the shell's reports; leftovers are found in the
	// shell's process tree when it is a subreaper, else by session id.
	exact bool
	tree  bool

	writeMu sync.Mutex // serialises writes to ctl
	feed    *lineFeed  // the shell's reports on ctl, after the start records

	gone    signals.Signal // the shell has exited
	exitErr error          // from cmd.Wait, set before gone fires

	mu      sync.Mutex
	closing bool
	broken  string        // a protocol violation: the session must go
	slots   map[int]*slot // announced, not yet finished
	next    int           // the slot of the next call
	forked  int           // the last slot announced
	running int           // the pid of the call in progress, or 0
	forker  int           // isolated: the pid of the shell's forker
	// cleanups are the slots being closed after their calls (see runSlot).
	cleanups sync.WaitGroup
	relay    *sigRelay // isolated: passes on signals sent to $$
	// forkerFD is a pidfd of the forker (-1: none); a session whose forker
	// died is not alive, though its shell lives a moment longer.
	forkerFD int
	// lateForks holds the pids of slots that were finished before the
	// shell's fork report came (a child can run its whole call first).
	lateForks map[int]int
	// spareKick wakes the spares thread (keepSpares).
	spareKick chan struct{}
	sticky    *stickyCalls // the sticky call in progress (nil: none)
	// Sticky: the output streams that background jobs still hold after
	// their calls ended, and the log they go to.
	detached []*proc.Outputs
	bg       *bgLog
}

// Start starts a session's shell: spec.Shell must be bash 4.4 or newer (see
// CheckVersion). It runs the init script and, for an isolated session, asks
// for the first two children. On failure everything started is gone.
func Start(spec *driver.Spec) (*Shell, error) {
	dir, err := os.MkdirTemp(spec.RuntimeDir, "mothreads-"+spec.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: session directory: %w", spec.Name, err)
	}
	s := &Shell{
		spec: spec, name: spec.Name, log: spec.Log, dir: dir,
		slots: map[int]*slot{}, next: 1, spareKick: make(chan struct{}, 1),
		lateForks: map[int]int{}, forkerFD: -1,
		exact: spec.ExactStatus, tree: spec.Launcher != "",
	}
	if err := s.launch(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.handshake(); err != nil {
		s.Close(0)
		return nil, err
	}
	threads.Go(spec.Thread, "reports", func(*threads.Thread) error {
		s.readReports()
		return nil
	})
	if !spec.Sticky {
		if err := s.forkAhead(); err != nil {
			s.Close(0)
			return nil, err
		}
		threads.Go(spec.Thread, "spares", s.keepSpares)
	}
	return s, nil
}

// launch starts the shell process (through the launcher if there is one) on
// a fresh control socket, with a diagnostics pipe (isolated) or a
// pseudo-terminal as its controlling terminal (sticky).
func (s *Shell) launch() error {
	spec := s.spec
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: control socket: %w", s.name, err)
	}
	// Ours is non-blocking, on the runtime poller (see lineFeed).
	unix.SetNonblock(fds[0], true)
	ours, theirs := os.NewFile(uintptr(fds[0]), "control"), os.NewFile(uintptr(fds[1]), "control")
	var diagR, diagW *os.File
	var sigR, sigW *os.File // isolated: the signal pipe (see sigRelay)
	if spec.Sticky {
		diagR, diagW, err = pty.Open()
		if err == nil {
			err = pty.Setsize(diagR, &pty.Winsize{Rows: 24, Cols: 80})
		}
	} else {
		diagR, diagW, err = os.Pipe()
		if err == nil {
			sigR, sigW, err = os.Pipe()
		}
	}
	if err != nil {
		ours.Close()
		theirs.Close()
		proc.CloseAll(diagR, diagW, sigR, sigW)
		return fmt.Errorf("%s: diagnostics: %w", s.name, err)
	}
	// argv[0] names the session in ps; $0 is "bash", as for bash -c.
	argv := []string{"mothreads-" + s.name, "--noprofile", "--norc", "-c", bootIsolated(s.dir), "bash"}
	if spec.Sticky {
		// -m from the start: job control keeps its own descriptor of the
		// terminal, so a call's redirected stderr does not hide it.
		argv = []string{"mothreads-" + s.name, "--noprofile", "--norc", "-m", "-s"}
	}
	cmd := &exec.Cmd{Path: spec.Shell, Args: argv, Env: spec.Env, Dir: spec.Dir}
	if spec.Launcher != "" {
		cmd.Path = spec.Launcher
		keep := []int{4}
		if sigW != nil {
			keep = append(keep, 5)
		}
		cmd.Args, cmd.Env = proc.LaunchCommand(spec.Launcher, spec.Shell, argv, spec.Env, keep...)
	}
	// fd 3 closed, fd 4 the control socket, fd 5 (isolated) the signal pipe
	cmd.ExtraFiles = []*os.File{nil, theirs}
	if sigW != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, sigW)
	}
	cmd.Stdout, cmd.Stderr = diagW, diagW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if spec.Sticky {
		cmd.Stdin = theirs
		cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 2
	}
	err = spec.Spawner.Start(cmd)
	proc.CloseAll(theirs, diagW, sigW)
	if err == nil && sigR != nil {
		s.relay, err = newSigRelay(sigR, s.runningPID, s.log)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	if err != nil {
		proc.CloseAll(ours, diagR, sigR)
		return fmt.Errorf("%s: start %s: %w", s.name, spec.Shell, err)
	}
	s.cmd, s.ctl = cmd, ours
	if spec.Sticky {
		s.tty = diagR
	}
	spec.Reaper.Watch(cmd.Process.Pid)
	s.diag = newDiagTail(diagR, s.log)
	threads.Go(spec.Thread, "diag", func(*threads.Thread) error {
		s.diag.run()
		return nil
	})
	threads.Go(spec.Thread, "wait", func(*threads.Thread) error {
		s.exitErr = s.cmd.Wait()
		s.gone.Go()
		return nil
	})
	if s.relay != nil {
		threads.Go(spec.Thread, "signals", func(*threads.Thread) error {
			s.relay.run()
			return nil
		})
	}
	threads.Go(spec.Thread, "stops", func(*threads.Thread) error {
		s.watchStop()
		return nil
	})
	return nil
}

// watchStop resumes the shell whenever a signal stops it (`kill -STOP $$`
// from a call): a stopped shell would hang every later call. The call that
// sent it is stopped instead, as bash -c would be (see Run).
func (s *Shell) watchStop() {
	pid := s.cmd.Process.Pid
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED, nil)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return // gone and reaped
		}
		if info.Signo != int32(syscall.SIGCHLD) {
			continue
		}
		if s.relay != nil {
			s.relay.resumed()
		}
		syscall.Kill(pid, syscall.SIGCONT)
		s.mu.Lock()
		call := s.running
		s.mu.Unlock()
		if call > 0 {
			// `kill -STOP $$` stops the script's own process in bash -c,
			// not its children (one of which may continue it: SIGCONT to
			// $$ is passed on, see session.bash).
			syscall.Kill(call, syscall.SIGSTOP)
		}
		s.log.Info("the session's shell was stopped by a signal: resumed it, stopped the call instead", "call_pid", call)
	}
}

// handshake sends the program, the session directory and the init script,
// and reads what the shell found and what it became.
func (s *Shell) handshake() error {
	spec := s.spec
	var msg []byte
	mode := "isolated"
	if spec.Sticky {
		msg, mode = []byte(bootSticky), "sticky"
	}
	msg = appendBlock(msg, sessionProgram)
	msg = appendBlock(msg, mode)
	msg = appendBlock(msg, spec.Shell)
	msg = appendBlock(msg, s.dir)
	msg = appendBlock(msg, spec.Init)
	type records struct {
		found, info *shellState
		err         error
	}
	done := make(chan records, 1)
	r := bufio.NewReaderSize(s.ctl, 64<<10)
	go func() {
		if _, err := s.ctl.Write(msg); err != nil {
			done <- records{err: err}
			return
		}
		found, err := readRecord(r, 'i')
		if err != nil {
			done <- records{err: err}
			return
		}
		info, err := readRecord(r, 'I')
		if err == nil && info.status == 0 && !spec.Sticky {
			info.forker, err = readForker(r)
		}
		done <- records{found, info, err}
	}()
	limit, release := (*signals.Timers)(nil).Till(spec.StartTimeout)
	defer release()
	var rec records
	select {
	case rec = <-done:
	case <-limit.Done():
		s.cmd.Process.Kill()
		s.ctl.Close() // the forker may hold the socket's other end
		<-done
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: start took longer than %v%s", s.name, spec.StartTimeout, s.diag.tail())}
	case <-spec.Abort.Done():
		s.cmd.Process.Kill()
		s.ctl.Close()
		<-done
		return &driver.RequestError{Kind: driver.Unavailable, Problem: s.name + ": start aborted: pool stopping", Err: driver.ErrClosed}
	}
	if rec.err != nil {
		s.gone.WaitTill(limit)
		s.diag.settle()
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: shell exited during start (%v)%s", s.name, s.exitOrRunning(), s.diag.tail())}
	}
	if rec.info.status != 0 {
		s.gone.WaitTill(limit)
		s.diag.settle()
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: init script failed with status %d%s", s.name, rec.info.status, s.diag.tail())}
	}
	pending, _ := r.Peek(r.Buffered())
	feed, err := newLineFeed(s.ctl, pending, s.report)
	if err != nil {
		return err
	}
	s.feed = feed
	info := rec.info
	s.env = driver.NewSessionEnv(spec.Env, info.env)
	s.cwd, s.version, s.forker = info.dir, info.version, info.forker
	if !spec.Sticky {
		fd, err := unix.PidfdOpen(s.forker, unix.PIDFD_NONBLOCK)
		if p, ok := proc.Parent(s.forker); err != nil || !ok || p != s.PID() {
			if err == nil {
				unix.Close(fd)
			}
			s.cmd.Process.Kill()
			return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: the forker, pid %d, is not the shell's child", s.name, s.forker)}
		}
		s.forkerFD = fd
	}
	s.directOK = info.umask == rec.found.umask && info.limits == rec.found.limits
	s.internal = map[string]bool{}
	for _, n := range slices.Concat(info.builtins, info.functions) {
		s.internal[n] = true
	}
	s.diag.started()
	return nil
}

func (s *Shell) exitOrRunning() any {
	if s.gone.Fired() {
		return s.exitErr
	}
	return "still running"
}

// send writes msg to the control socket.
func (s *Shell) send(msg []byte) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := s.ctl.Write(msg); err != nil {
		return fmt.Errorf("%s: control socket: %w", s.name, err)
	}
	return nil
}

// readReports reads the shell's reports until the socket closes, and
// routes each one. A report the protocol does not allow is a violation: the
// session is retired (killed), never trusted again.
func (s *Shell) readReports() {
	err := s.feed.run()
	// The socket ends when the shell exits (its descriptors close a moment
	// before it can be reaped) or when Close closes it.
	limit, release := (*signals.Timers)(nil).Till(time.Second)
	s.gone.WaitTill(limit)
	release()
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if !closing && !errors.Is(err, os.ErrClosed) && !s.gone.Fired() {
		s.violation("the control socket ended: " + err.Error())
	}
}

// report handles one line of the control socket.
func (s *Shell) report(line []byte) error {
	r, err := parseReport(string(line))
	if err == nil {
		err = s.route(r)
	}
	if err != nil {
		s.violation(err.Error())
	}
	return nil
}

// route applies one report. The shell's children write "r" and "F" for
// their own slots; nothing else can write here. Still, every report is
// checked against what is due: a slot that exists and is not ready yet, a
// pid that is a child of the shell.
func (s *Shell) route(r report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.kind {
	case 'k':
		return s.forkReport(r)
	case 'r':
		sl := s.slots[r.slot]
		switch {
		case sl != nil && sl.failed != "":
			// Its child died, or was killed, since it wrote this.
			return nil
		case sl == nil || sl.ready.Fired():
			return fmt.Errorf("%w: report 'r' for slot %d, which is not being forked", errBadReport, r.slot)
		case sl.pid != 0 && r.pid != sl.pid:
			return fmt.Errorf("%w: slot %d's child is pid %d, but it reports pid %d", errBadReport, r.slot, sl.pid, r.pid)
		}
		if err := s.learnPid(sl, r.pid); err != nil {
			return err
		}
		if sl.failed == "" {
			sl.unlink()
			sl.ready.Go()
		}
		return nil
	case 'F':
		sl := s.slots[r.slot]
		switch {
		case sl != nil && sl.failed != "":
			return nil
		case sl == nil || sl.ready.Fired():
			return fmt.Errorf("%w: report for slot %d, which is not waiting for its child", errBadReport, r.slot)
		}
		sl.failed = "its child could not open the call's FIFOs"
		sl.forked.Go()
		sl.ready.Go()
		return nil
	case 's', 'e':
		if !s.spec.Sticky {
			return s.setupReport(r)
		}
		fallthrough
	case 'd', 'z':
		if s.sticky == nil {
			return fmt.Errorf("%w: sticky report %q with no call running", errBadReport, r.kind)
		}
		return s.sticky.route(r)
	}
	return fmt.Errorf("%w: %q", errBadReport, r.kind)
}

// forkAhead makes sure the shell has children for the next two calls.
func (s *Shell) forkAhead() error {
	var msg []byte
	s.mu.Lock()
	for s.forked < s.next+1 && !s.closing {
		n := s.forked + 1
		sl, err := newSlot(s.dir, n)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.slots[n] = sl
		s.forked = n
		msg = append(msg, forkMsg(n, sl.token)...)
	}
	s.mu.Unlock()
	if len(msg) == 0 {
		return nil
	}
	return s.send(msg)
}

// kickSpares asks the session's spares thread to fork ahead (see
// keepSpares): a call's path only kicks it.
func (s *Shell) kickSpares() {
	select {
	case s.spareKick <- struct{}{}:
	default:
	}
}

// keepSpares is the session's "spares" thread: it keeps children forked for
// the next two calls, off the callers' path. A failure retires the session.
func (s *Shell) keepSpares(t *threads.Thread) error {
	for {
		select {
		case <-s.spareKick:
		case <-s.gone.Done():
			return nil
		case <-t.PleaseStop().Done():
			return nil
		}
		if err := s.forkAhead(); err != nil {
			s.violation(err.Error())
		}
	}
}

// Ready fires when the child for the next call is ready (or the shell is
// gone). For a sticky session it has fired.
func (s *Shell) Ready() *signals.Signal {
	if s.spec.Sticky {
		return signals.And()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.slots[s.next]; sl != nil {
		return &sl.ready
	}
	return &s.gone
}

// violation retires the session: its shell is killed, and every call that
// waits on it ends.
func (s *Shell) violation(what string) {
	s.mu.Lock()
	first := s.broken == ""
	if first {
		s.broken = what
	}
	s.mu.Unlock()
	if first {
		s.log.Error("session protocol violation: retiring the session", "what", what)
		s.cmd.Process.Kill()
	}
}

// PID is the shell's process id, which is also its session id.
func (s *Shell) PID() int { return s.cmd.Process.Pid }

// Alive reports whether the shell process has not exited and follows the
// protocol, without reaping it; unlike Died, it knows at once.
func (s *Shell) Alive() bool {
	if s.gone.Fired() {
		return false
	}
	s.mu.Lock()
	broken := s.broken != "" || s.forkerFD >= 0 && proc.PidfdExited(s.forkerFD)
	s.mu.Unlock()
	if broken {
		return false
	}
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, s.PID(), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err == nil && info.Signo == 0
}

// Died fires when the shell has exited.
func (s *Shell) Died() *signals.Signal { return &s.gone }

// Memory is the private memory of the shell and its idle children.
func (s *Shell) Memory() int64 {
	total := proc.PrivateMemory(s.PID())
	if s.forker > 0 {
		total += proc.PrivateMemory(s.forker)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.slots {
		if sl.pid > 0 && !sl.used {
			total += proc.PrivateMemory(sl.pid)
		}
	}
	return total
}

// Close stops the shell and everything it started: the end of the control
// stream lets the shell and its idle children exit on their own; what is
// left after grace is killed, the whole tree and session.
func (s *Shell) Close(grace time.Duration) {
	if s.cmd != nil {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.ctl.Close()
		if grace > 0 {
			limit, release := (*signals.Timers)(nil).Till(grace)
			s.gone.WaitTill(limit)
			release()
		}
		sid := s.cmd.Process.Pid
		s.killAll(syscall.SIGKILL)
		s.gone.Wait()
		proc.KillSession(sid, syscall.SIGKILL)
		s.spec.Reaper.Forget(sid)
		s.cleanups.Wait()
		s.mu.Lock()
		for n, sl := range s.slots {
			sl.close()
			delete(s.slots, n)
		}
		s.mu.Unlock()
		s.diag.stop()
		if s.relay != nil {
			s.relay.close()
		}
		s.mu.Lock()
		if s.forkerFD >= 0 {
			unix.Close(s.forkerFD)
			s.forkerFD = -1
		}
		s.mu.Unlock()
	}
	if err := os.RemoveAll(s.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("removing session directory", "dir", s.dir, "err", err)
	}
}

// killAll sends sig to the shell and everything below it.
func (s *Shell) killAll(sig syscall.Signal) {
	proc.KillTree(sig, s.PID())
}
