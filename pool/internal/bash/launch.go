//go:build linux

package bash

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

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
		s.relay, err = newSigRelay(sigR, s.runningPID, s.log, &s.gone, &s.cleanups, s.violation)
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
	s.diag = driver.NewDiagTail(diagR, s.log)
	threads.Go(spec.Thread, "diag", func(*threads.Thread) error {
		s.diag.Run()
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
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: start took longer than %v%s", s.name, spec.StartTimeout, s.diag.Tail())}
	case <-spec.Abort.Done():
		s.cmd.Process.Kill()
		s.ctl.Close()
		<-done
		return &driver.RequestError{Kind: driver.Unavailable, Problem: s.name + ": start aborted: pool stopping", Err: driver.ErrClosed}
	}
	if rec.err != nil {
		s.gone.WaitTill(limit)
		s.diag.Settle()
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: shell exited during start (%v)%s", s.name, s.exitOrRunning(), s.diag.Tail())}
	}
	if rec.info.status != 0 {
		s.gone.WaitTill(limit)
		s.diag.Settle()
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: init script failed with status %d%s", s.name, rec.info.status, s.diag.Tail())}
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
	s.diag.Started()
	return nil
}

func (s *Shell) exitOrRunning() any {
	if s.gone.Fired() {
		return s.exitErr
	}
	return "still running"
}
