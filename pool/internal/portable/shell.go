//go:build unix

package portable

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

//go:embed session.bash
var sessionProgram string

// dirVar names the session's directory in the shell's environment; the
// shell unsets it first thing.
const dirVar = "__MOTHREADS_DIR"

// Shell is one warm bash process of a session and its private directory.
// See doc.go for the design; its methods are the driver.Shell contract.
type Shell struct {
	spec   *driver.Spec
	name   string
	log    *slog.Logger
	dir    string // the session's private directory
	pid    int    // the shell's, also its session id
	pgrep  string // "" if the system has none: no sweep
	ctl    *os.File
	status *os.File
	diag   *driver.DiagTail

	// What the shell reported about itself after the init script.
	env      *driver.SessionEnv
	cwd      string
	internal map[string]bool // builtins and functions

	boot       bootState
	statusDone chan struct{}
	gone       signals.Signal // the shell has been reaped
	statusRead signals.Signal // readStatus has read the status pipe to its end

	runMu sync.Mutex // one call at a time
	seq   int        // the last call's number, under runMu

	mu      sync.Mutex
	cur     *callState      // the call in progress
	ready   *signals.Signal // the last call's leftovers are gone
	broken  string          // a protocol violation: the session must go
	reaped  bool
	ws      syscall.WaitStatus
	exit    string // how the shell ended, in words
	closing bool
}

// Start starts a session's shell (spec.Shell must be bash 4.4 or newer,
// see driver.CheckBashVersion), runs the init script and waits until the
// shell is ready. Sticky sessions are refused with an Invalid error for the field
// "session". On failure everything started is gone.
func Start(spec *driver.Spec) (*Shell, error) {
	if spec.Sticky {
		return nil, &driver.RequestError{Field: "session", Kind: driver.Invalid,
			Problem: "sticky sessions need the bash driver, which needs Linux"}
	}
	root := spec.RuntimeDir
	if root == "" {
		root = os.TempDir()
	}
	dir, err := os.MkdirTemp(root, "mothreads-"+spec.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: session directory: %w", spec.Name, err)
	}
	s := &Shell{spec: spec, name: spec.Name, log: spec.Log, dir: dir, ready: signals.And(),
		statusDone: make(chan struct{})}
	if s.pgrep, err = exec.LookPath("pgrep"); err != nil {
		s.log.Warn("no pgrep: what a call leaves in a process group of its own survives it", "err", err)
		s.pgrep = ""
	}
	if err := s.launch(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.awaitBoot(); err != nil {
		s.Close(0)
		return nil, err
	}
	return s, nil
}

// launch writes the init script and starts the shell.
func (s *Shell) launch() error {
	spec := s.spec
	if err := os.WriteFile(filepath.Join(s.dir, "init"), []byte(spec.Init), 0o600); err != nil {
		return fmt.Errorf("%s: init script: %w", s.name, err)
	}
	if err := unix.Mkfifo(filepath.Join(s.dir, "idle"), 0o600); err != nil {
		return fmt.Errorf("%s: idle FIFO: %w", s.name, err)
	}
	var files [6]*os.File // ctl r/w, status r/w, diag r/w
	for i := 0; i < 6; i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			proc.CloseAll(files[:]...)
			return fmt.Errorf("%s: pipe: %w", s.name, err)
		}
		files[i], files[i+1] = r, w
	}
	ctlR, ctlW, statR, statW, diagR, diagW := files[0], files[1], files[2], files[3], files[4], files[5]
	// argv[0] names the session in ps; $0 is "bash", as for bash -c.
	cmd := &exec.Cmd{
		Path: spec.Shell,
		Args: []string{"mothreads-" + s.name, "--noprofile", "--norc", "-c", sessionProgram, "bash"},
		Env:  append(slices.Clip(spec.Env), dirVar+"="+s.dir), Dir: spec.Dir,
		Stdin: ctlR, Stdout: diagW, Stderr: diagW,
		ExtraFiles:  []*os.File{statW},
		SysProcAttr: shellAttr(),
	}
	err := spec.Spawner.Start(cmd)
	proc.CloseAll(ctlR, statW, diagW)
	if err != nil {
		proc.CloseAll(ctlW, statR, diagR)
		return fmt.Errorf("%s: start %s: %w", s.name, spec.Shell, err)
	}
	s.pid = cmd.Process.Pid
	// The shell is reaped by waitShell, which also sees it stop.
	cmd.Process.Release()
	s.ctl, s.status = ctlW, statR
	spec.Reaper.Watch(s.pid)
	s.diag = driver.NewDiagTail(diagR, s.log)
	threads.Go(spec.Thread, "wait", func(*threads.Thread) error {
		s.waitShell()
		return nil
	})
	threads.Go(spec.Thread, "status", func(*threads.Thread) error {
		defer close(s.statusDone)
		s.readStatus()
		return nil
	})
	threads.Go(spec.Thread, "diag", func(*threads.Thread) error {
		s.diag.Run()
		return nil
	})
	return nil
}

// awaitBoot waits for the shell's "ready" and reads what it wrote about
// itself.
func (s *Shell) awaitBoot() error {
	spec := s.spec
	limit, release := (*signals.Timers)(nil).Till(spec.StartTimeout)
	defer release()
	select {
	case <-s.boot.done.Done():
	case <-s.gone.Done():
	case <-limit.Done():
		return &driver.RequestError{Kind: driver.StartFailed,
			Problem: fmt.Sprintf("%s: start took longer than %v%s", s.name, spec.StartTimeout, s.diagTail())}
	case <-spec.Abort.Done():
		return &driver.RequestError{Kind: driver.Unavailable, Problem: s.name + ": start aborted: pool stopping", Err: driver.ErrClosed}
	}
	if !s.boot.done.Fired() || !s.boot.ready {
		s.gone.WaitTill(limit)
		if s.boot.done.Fired() {
			return &driver.RequestError{Kind: driver.StartFailed,
				Problem: fmt.Sprintf("%s: init script failed with status %d%s", s.name, s.boot.initCode, s.diagTail())}
		}
		return &driver.RequestError{Kind: driver.StartFailed,
			Problem: fmt.Sprintf("%s: shell exited during start (%s)%s", s.name, s.exitText(), s.diagTail())}
	}
	envData, err1 := os.ReadFile(filepath.Join(s.dir, "env"))
	cwd, err2 := os.ReadFile(filepath.Join(s.dir, "cwd"))
	internal, err3 := os.ReadFile(filepath.Join(s.dir, "internal"))
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("%s: the shell's report on itself: %w", s.name, err)
	}
	after := map[string]string{}
	for _, kv := range bytes.Split(envData, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok && driver.ValidEnvName(k) {
			after[k] = v
		}
	}
	s.env = driver.NewSessionEnv(spec.Env, after)
	s.cwd = string(cwd)
	s.internal = map[string]bool{}
	for _, n := range strings.Split(string(internal), "\n") {
		if n != "" {
			s.internal[n] = true
		}
	}
	s.diag.Started()
	return nil
}

// violation retires the session: its shell is killed, and the call in
// progress ends.
func (s *Shell) violation(what string) {
	s.mu.Lock()
	first := s.broken == ""
	if first {
		s.broken = what
	}
	s.mu.Unlock()
	if first {
		s.log.Error("session protocol violation: retiring the session", "what", what)
		s.signalShell(syscall.SIGKILL)
	}
}

func (s *Shell) exitText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exit == "" {
		return "still running"
	}
	return s.exit
}

// PID is the shell's process id, which is also its session id.
func (s *Shell) PID() int { return s.pid }

// Alive reports whether the shell runs and has kept to the protocol.
func (s *Shell) Alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.reaped && s.broken == ""
}

// Died fires when the shell has exited.
func (s *Shell) Died() *signals.Signal { return &s.gone }

// Ready fires when what the last call left behind is gone, so the next
// call can start at once.
func (s *Shell) Ready() *signals.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

// Memory is not measured here (it would need /proc or ps): 0.
func (s *Shell) Memory() int64 { return 0 }

// Close stops the shell and everything in its session: the end of the
// control pipe lets an idle shell exit on its own; after grace it is
// killed, and so is every process left in its session.
func (s *Shell) Close(grace time.Duration) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.ctl.Close()
	if grace > 0 {
		limit, release := (*signals.Timers)(nil).Till(grace)
		s.gone.WaitTill(limit)
		release()
	}
	s.signalShell(syscall.SIGKILL)
	s.gone.Wait()
	s.Ready().Wait()
	s.sweep()
	proc.SignalGroup(s.pid, syscall.SIGKILL) // without pgrep: the shell's own group
	s.spec.Reaper.Forget(s.pid)
	// Every writer of the status pipe is gone now, unless something left
	// the session with it (setsid): stop reading it then.
	s.status.SetReadDeadline(time.Now())
	<-s.statusDone
	s.diag.Stop()
	if err := os.RemoveAll(s.dir); err != nil {
		s.log.Warn("removing session directory", "dir", s.dir, "err", err)
	}
}

// diagTail is what a start error quotes of the shell's diagnostics, once
// the reader has had up to a second to reach the end of the pipe (a shell
// that just died has its last words there).
func (s *Shell) diagTail() string {
	s.diag.Settle()
	return s.diag.Tail()
}
