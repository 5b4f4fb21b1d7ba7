//go:build linux

package bash

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

//go:embed session.bash
var sessionProgram string

// Shell is one warm bash process and its protocol state (see doc.go).
type Shell struct {
	spec    *driver.Spec
	cmd     *exec.Cmd
	dir     string
	control *os.File // the shell's stdin: slot announcements (isolated) or "N O E J I" call lines (sticky)
	status  *os.File // the shell's stdout, read by readStatus
	log     *slog.Logger

	env      *driver.SessionEnv
	cwd      string          // the session's directory after init
	internal map[string]bool // builtins and functions: argv[0] that the shell runs itself
	directOK bool            // init changed neither umask nor limits: externals may be spawned directly
	version  string

	gone       signals.Signal // the shell has exited and its status lines are routed
	statusDone signals.Signal // readStatus reached the end of the status pipe
	initDone   chan int       // the init script's status
	exitErr    error          // from cmd.Wait, set before gone fires

	mu       sync.Mutex
	closing  bool // close has begun: a slot is closed as soon as its child is ready
	slots    map[int]*slot
	byPID    map[int]*slot // children that reported ready, by pid
	running  map[int]*slot // slots handed to a call, by number
	next     int           // the next slot to run a call in
	announce int           // the last slot announced to the shell
	sticky   *stickyState
}

// Start starts a session's bash (spec.Shell, which must be bash 4.4 or
// newer: see CheckVersion), runs its init script, and for an isolated
// session announces its first slots. A sticky session (spec.Sticky) runs
// its calls in the shell itself.
func Start(spec *driver.Spec) (*Shell, error) {
	dir, err := os.MkdirTemp(spec.RuntimeDir, "mothreads-"+spec.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: session directory: %w", spec.Name, err)
	}
	s := &Shell{
		spec: spec, dir: dir, log: spec.Log,
		initDone: make(chan int, 1),
		slots:    map[int]*slot{},
		byPID:    map[int]*slot{},
		running:  map[int]*slot{},
		next:     1,
	}
	if spec.Sticky {
		s.sticky = &stickyState{}
	}
	if err := s.launch(); err != nil {
		s.cleanup()
		return nil, err
	}
	if err := s.awaitInit(); err != nil {
		s.Close(0)
		return nil, err
	}
	if !spec.Sticky {
		s.mu.Lock()
		err := s.announceSlots()
		s.mu.Unlock()
		if err != nil {
			s.Close(0)
			return nil, err
		}
	}
	return s, nil
}

func (s *Shell) launch() error {
	spec := s.spec
	if spec.Init != "" {
		if err := os.WriteFile(filepath.Join(s.dir, "init"), []byte(spec.Init), 0o600); err != nil {
			return fmt.Errorf("%s: init script: %w", spec.Name, err)
		}
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("%s: control pipe: %w", spec.Name, err)
	}
	stR, stW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return fmt.Errorf("%s: status pipe: %w", spec.Name, err)
	}
	diagR, diagW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		stR.Close()
		stW.Close()
		return fmt.Errorf("%s: diagnostics pipe: %w", spec.Name, err)
	}
	mode := "isolated"
	if spec.Sticky {
		mode = "sticky"
	}
	cmd := exec.Command(spec.Shell, "--noprofile", "--norc", "-c", sessionProgram, "bash")
	cmd.Env = append(append([]string(nil), spec.Env...), "__MT_DIR="+s.dir, "__MT_MODE="+mode)
	cmd.Dir = spec.Dir
	cmd.Stdin = ctlR
	cmd.Stdout = stW
	cmd.Stderr = diagW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	err = spec.Spawner.Start(cmd)
	ctlR.Close()
	stW.Close()
	diagW.Close()
	if err != nil {
		ctlW.Close()
		stR.Close()
		diagR.Close()
		return fmt.Errorf("%s: start %s: %w", spec.Name, spec.Shell, err)
	}
	s.cmd, s.control, s.status = cmd, ctlW, stR
	spec.Reaper.Watch(cmd.Process.Pid)
	go s.readStatus()
	go s.readDiagnostics(diagR)
	go func() {
		s.exitErr = cmd.Wait()
		// Lines the shell wrote before it died may still be in the pipe:
		// route them first (bounded: an orphaned child may hold the pipe).
		limit, release := (*signals.Timers)(nil).Till(time.Second)
		s.statusDone.WaitTill(limit)
		release()
		s.gone.Go()
	}()
	return nil
}

// awaitInit waits for the init script's status and reads what the shell
// reported about itself.
func (s *Shell) awaitInit() error {
	spec := s.spec
	limit, release := (*signals.Timers)(nil).Till(spec.StartTimeout)
	defer release()
	var rc int
	select {
	case rc = <-s.initDone:
	case <-s.gone.Done():
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: shell exited during start (%v)%s", spec.Name, s.exitErr, s.initLog())}
	case <-limit.Done():
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: start took longer than %v%s", spec.Name, spec.StartTimeout, s.initLog())}
	case <-spec.Abort.Done():
		return &driver.RequestError{Kind: driver.Unavailable, Problem: spec.Name + ": start aborted: pool stopping", Err: driver.ErrClosed}
	}
	if rc != 0 {
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: init script failed with status %d%s", spec.Name, rc, s.initLog())}
	}
	return s.readInfo()
}

// initLog returns the tail of the init script's output, for errors.
func (s *Shell) initLog() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "init.log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	const max = 2048
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return ": " + strings.TrimSpace(string(b))
}

func (s *Shell) readInfo() error {
	envb, err := os.ReadFile(filepath.Join(s.dir, "env"))
	if err != nil {
		return fmt.Errorf("%s: reading the session environment: %w", s.spec.Name, err)
	}
	after := map[string]string{}
	for _, kv := range bytes.Split(envb, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			after[k] = v
		}
	}
	s.env = driver.NewSessionEnv(s.spec.Env, after)
	info, err := os.ReadFile(filepath.Join(s.dir, "info"))
	if err != nil {
		return fmt.Errorf("%s: reading the session info: %w", s.spec.Name, err)
	}
	parts := strings.SplitN(string(info), "\x00", 4)
	if len(parts) != 4 {
		return fmt.Errorf("%s: malformed session info", s.spec.Name)
	}
	s.cwd, s.directOK, s.version = parts[0], parts[1] == "same", parts[2]
	s.internal = map[string]bool{}
	for _, name := range strings.Fields(parts[3]) {
		s.internal[name] = true
	}
	return nil
}

// announceSlots makes sure the shell knows about two slots beyond the next
// one to run (it keeps two children forked). Call with s.mu held.
func (s *Shell) announceSlots() error {
	var buf []byte
	for s.announce < s.next+1 {
		n := s.announce + 1
		sl, err := newSlot(n)
		if err != nil {
			return err
		}
		s.slots[n] = sl
		s.announce = n
		buf = append(buf, sl.announcement()...)
	}
	if len(buf) == 0 {
		return nil
	}
	if _, err := s.control.Write(buf); err != nil {
		return fmt.Errorf("%s: control pipe: %w", s.spec.Name, err)
	}
	return nil
}

// PID is the shell's process id, which is also its session id.
func (s *Shell) PID() int { return s.cmd.Process.Pid }

// Alive reports whether the shell process has not exited, without reaping
// it; unlike gone, it knows at once.
func (s *Shell) Alive() bool {
	if s.gone.Fired() {
		return false
	}
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, s.PID(), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err == nil && info.Signo == 0 // nothing to report: still running
}

// Ready fires when the child forked for the next call is ready (or the
// shell is gone).
func (s *Shell) Ready() *signals.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.slots[s.next]; sl != nil {
		return &sl.ready
	}
	return &s.gone
}

// Died fires when the shell has exited and its status lines are routed.
func (s *Shell) Died() *signals.Signal { return &s.gone }

// Memory is the private memory of the shell and its pre-forked children.
func (s *Shell) Memory() int64 {
	total := proc.PrivateMemory(s.PID())
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid := range s.byPID {
		total += proc.PrivateMemory(pid)
	}
	return total
}

// Close stops the shell and everything it started: closing the control pipe
// and every wake pipe lets the shell and its waiting children exit on their
// own; what is still there after grace is killed, session-wide.
//
// Only the slots whose child is ready (it has opened its channels, or died)
// are closed at once. A child that is not ready yet opens its channels by
// descriptor number through /proc; were they closed, the numbers could be
// reused by another call's pipes, and the child would write into those. So
// such a slot is closed when its child reports ready, or after every
// process of the session is dead.
func (s *Shell) Close(grace time.Duration) {
	if s.cmd != nil {
		s.control.Close()
		s.mu.Lock()
		s.closing = true
		for n, sl := range s.slots {
			if sl.ready.Fired() {
				sl.close()
				delete(s.slots, n)
			}
		}
		s.mu.Unlock()
		if grace > 0 {
			limit, release := (*signals.Timers)(nil).Till(grace)
			s.gone.WaitTill(limit)
			release()
		}
		sid := s.cmd.Process.Pid
		syscall.Kill(sid, syscall.SIGKILL)
		proc.KillSession(sid, syscall.SIGKILL)
		s.gone.Wait()
		s.spec.Reaper.Forget(sid)
		s.mu.Lock()
		for n, sl := range s.slots {
			sl.close()
			delete(s.slots, n)
		}
		s.mu.Unlock()
	}
	s.cleanup()
}

func (s *Shell) cleanup() {
	if err := os.RemoveAll(s.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("removing session directory", "dir", s.dir, "err", err)
	}
}
