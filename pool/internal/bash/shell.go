//go:build linux

package bash

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
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

// Shell is one warm bash process, its session directory and its protocol
// state. See doc.go for the design and protocol.go for the messages.
type Shell struct {
	spec *driver.Spec
	name string
	log  *slog.Logger
	cmd  *exec.Cmd
	dir  string   // the session's private directory: the calls' FIFOs
	ctl  *os.File // the control socket, our end
	diag *driver.DiagTail
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
	forkMu    sync.Mutex   // serialises forkAhead
	sticky    *stickyCalls // the sticky call in progress (nil: none)
	// unfenced is the last sticky call, ended by its "d" report, until its
	// fence report comes (nil: none).
	unfenced *stickyCalls
	// stickyNext is the next sticky call's slot, made ahead (nil: none).
	stickyNext *slot
	// Sticky: the output streams that background jobs still hold after
	// their calls ended, and the log they go to.
	detached []*proc.Outputs
	bg       *bgLog
}

// Start starts a session's shell: spec.Shell must be bash 4.4 or newer
// (see driver.CheckBashVersion). It runs the init script and, for an
// isolated session, asks for the first two children. On failure everything started is gone.
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
		if s.stickyNext != nil {
			s.stickyNext.close()
			s.stickyNext = nil
		}
		s.mu.Unlock()
		s.diag.Stop()
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
