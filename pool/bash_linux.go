//go:build linux

package pool

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

//go:embed session.bash
var sessionProgram string

// bashShell is one warm bash process and its protocol state (see doc.go).
type bashShell struct {
	spec    *shellSpec
	cmd     *exec.Cmd
	dir     string
	control *os.File // the shell's stdin: slot announcements / "call ..." lines
	status  *os.File // the shell's stdout, read by readStatus
	log     *slog.Logger

	env      *sessionEnv
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

// startBash starts a session shell and runs its init script.
func startBash(spec *shellSpec) (*bashShell, error) {
	dir, err := os.MkdirTemp(spec.runtimeDir, "mothreads-"+spec.name+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: session directory: %w", spec.name, err)
	}
	s := &bashShell{
		spec: spec, dir: dir, log: spec.log,
		initDone: make(chan int, 1),
		slots:    map[int]*slot{},
		byPID:    map[int]*slot{},
		running:  map[int]*slot{},
		next:     1,
	}
	if err := s.launch(); err != nil {
		s.cleanup()
		return nil, err
	}
	if err := s.awaitInit(); err != nil {
		s.close(0)
		return nil, err
	}
	if !spec.sticky {
		s.mu.Lock()
		err := s.announceSlots()
		s.mu.Unlock()
		if err != nil {
			s.close(0)
			return nil, err
		}
	}
	return s, nil
}

func (s *bashShell) launch() error {
	spec := s.spec
	if spec.init != "" {
		if err := os.WriteFile(filepath.Join(s.dir, "init"), []byte(spec.init), 0o600); err != nil {
			return fmt.Errorf("%s: init script: %w", spec.name, err)
		}
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("%s: control pipe: %w", spec.name, err)
	}
	stR, stW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return fmt.Errorf("%s: status pipe: %w", spec.name, err)
	}
	diagR, diagW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		stR.Close()
		stW.Close()
		return fmt.Errorf("%s: diagnostics pipe: %w", spec.name, err)
	}
	mode := "isolated"
	if spec.sticky {
		mode = "sticky"
	}
	cmd := exec.Command(spec.shell, "--noprofile", "--norc", "-c", sessionProgram, "bash")
	cmd.Env = append(append([]string(nil), spec.env...), "__MT_DIR="+s.dir, "__MT_MODE="+mode)
	cmd.Dir = spec.dir
	cmd.Stdin = ctlR
	cmd.Stdout = stW
	cmd.Stderr = diagW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	err = spec.spawner.Start(cmd)
	ctlR.Close()
	stW.Close()
	diagW.Close()
	if err != nil {
		ctlW.Close()
		stR.Close()
		diagR.Close()
		return fmt.Errorf("%s: start %s: %w", spec.name, spec.shell, err)
	}
	s.cmd, s.control, s.status = cmd, ctlW, stR
	spec.reaper.Watch(cmd.Process.Pid)
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
func (s *bashShell) awaitInit() error {
	spec := s.spec
	limit, release := (*signals.Timers)(nil).Till(spec.startTimeout)
	defer release()
	var rc int
	select {
	case rc = <-s.initDone:
	case <-s.gone.Done():
		return &RequestError{Kind: StartFailed, Problem: fmt.Sprintf("%s: shell exited during start (%v)%s", spec.name, s.exitErr, s.initLog())}
	case <-limit.Done():
		return &RequestError{Kind: StartFailed, Problem: fmt.Sprintf("%s: start took longer than %v%s", spec.name, spec.startTimeout, s.initLog())}
	case <-spec.abort.Done():
		return &RequestError{Kind: Unavailable, Problem: spec.name + ": start aborted: pool stopping", Err: ErrClosed}
	}
	if rc != 0 {
		return &RequestError{Kind: StartFailed, Problem: fmt.Sprintf("%s: init script failed with status %d%s", spec.name, rc, s.initLog())}
	}
	return s.readInfo()
}

// initLog returns the tail of the init script's output, for errors.
func (s *bashShell) initLog() string {
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

func (s *bashShell) readInfo() error {
	envb, err := os.ReadFile(filepath.Join(s.dir, "env"))
	if err != nil {
		return fmt.Errorf("%s: reading the session environment: %w", s.spec.name, err)
	}
	after := map[string]string{}
	for _, kv := range bytes.Split(envb, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			after[k] = v
		}
	}
	s.env = newSessionEnv(s.spec.env, after)
	info, err := os.ReadFile(filepath.Join(s.dir, "info"))
	if err != nil {
		return fmt.Errorf("%s: reading the session info: %w", s.spec.name, err)
	}
	parts := strings.SplitN(string(info), "\x00", 4)
	if len(parts) != 4 {
		return fmt.Errorf("%s: malformed session info", s.spec.name)
	}
	s.cwd, s.directOK, s.version = parts[0], parts[1] == "same", parts[2]
	s.internal = map[string]bool{}
	for _, name := range strings.Fields(parts[3]) {
		s.internal[name] = true
	}
	return nil
}

// readStatus reads the shell's status lines until the pipe closes, and
// routes each to the slot (or sticky call) it concerns.
func (s *bashShell) readStatus() {
	defer s.statusDone.Go()
	defer s.status.Close()
	sc := bufio.NewScanner(s.status)
	sc.Buffer(make([]byte, 4096), 1<<20)
	debug := s.log.Enabled(context.Background(), slog.LevelDebug)
	for sc.Scan() {
		if debug {
			s.log.Debug("status", "line", sc.Text())
		}
		s.statusLine(sc.Text())
	}
}

func (s *bashShell) statusLine(line string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	num := func(i int) int {
		if i >= len(f) {
			return -1
		}
		n, err := strconv.Atoi(f[i])
		if err != nil {
			return -1
		}
		return n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f[0] {
	case "init":
		s.initDone <- num(1)
	case "ready":
		if sl := s.slots[num(1)]; sl != nil {
			sl.pid = num(2)
			s.byPID[sl.pid] = sl
			sl.ready.Go()
			if s.closing { // see close
				sl.close()
				delete(s.slots, sl.n)
			}
		}
	case "rc":
		if sl := s.slots[num(1)]; sl != nil && !sl.ready.Fired() {
			// The child died before it was ready.
			sl.failed = "exited before it was ready"
			sl.ready.Go()
		}
		if sl := s.running[num(1)]; sl != nil {
			delete(s.running, sl.n)
			delete(s.byPID, sl.pid)
			sl.rc = num(2)
			sl.exited.Go()
		}
	case "fail":
		if sl := s.slots[num(1)]; sl != nil {
			sl.failed = strings.Join(f[2:], " ")
			sl.ready.Go() // wake a waiter; it sees failed
		}
		if s.sticky != nil {
			s.sticky.event(line)
		}
	case "start", "done":
		if s.sticky != nil {
			s.sticky.event(line)
		}
	default:
		s.log.Debug("unexpected status line", "line", line)
	}
}

// readDiagnostics logs what the shell itself prints (never user output): a
// broken init script or a protocol problem shows up here.
func (s *bashShell) readDiagnostics(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		s.log.Debug("shell diagnostics", "line", sc.Text())
	}
}

// announceSlots makes sure the shell knows about two slots beyond the next
// one to run (it keeps two children forked). Call with s.mu held.
func (s *bashShell) announceSlots() error {
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
		return fmt.Errorf("%s: control pipe: %w", s.spec.name, err)
	}
	return nil
}

func (s *bashShell) pid() int { return s.cmd.Process.Pid }

// alive reports whether the shell process has not exited, without reaping
// it; unlike gone, it knows at once.
func (s *bashShell) alive() bool {
	if s.gone.Fired() {
		return false
	}
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, s.pid(), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err == nil && info.Signo == 0 // nothing to report: still running
}

func (s *bashShell) ready() *signals.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl := s.slots[s.next]; sl != nil {
		return &sl.ready
	}
	return &s.gone
}

func (s *bashShell) died() *signals.Signal    { return &s.gone }
func (s *bashShell) memory() int64            { return s.memoryOf() }
func (s *bashShell) describe() (string, bool) { return s.version, s.directOK }

func (s *bashShell) memoryOf() int64 {
	total := proc.PrivateMemory(s.pid())
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid := range s.byPID {
		total += proc.PrivateMemory(pid)
	}
	return total
}

// close stops the shell and everything it started: closing the control pipe
// and every wake pipe lets the shell and its waiting children exit on their
// own; what is still there after grace is killed, session-wide.
//
// Only the slots whose child is ready (it has opened its channels, or died)
// are closed at once. A child that is not ready yet opens its channels by
// descriptor number through /proc; were they closed, the numbers could be
// reused by another call's pipes, and the child would write into those. So
// such a slot is closed when its child reports ready, or after every
// process of the session is dead.
func (s *bashShell) close(grace time.Duration) {
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
		s.spec.reaper.Forget(sid)
		s.mu.Lock()
		for n, sl := range s.slots {
			sl.close()
			delete(s.slots, n)
		}
		s.mu.Unlock()
	}
	s.cleanup()
}

func (s *bashShell) cleanup() {
	if err := os.RemoveAll(s.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("removing session directory", "dir", s.dir, "err", err)
	}
}
