//go:build linux

package bash

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// The children of an isolated session are forked ahead of their calls (see
// doc.go), by the shell's forker. Two reports name each one: the fork report ("k", after
// the fork) and the child's own ready report ("r", once it has opened its
// slot). They race: the child can report ready, run a whole call and be
// finished before the forker gets to the fork report.

// forkReport applies the forker's report of the child it forked for a slot.
// s.mu is held.
func (s *Shell) forkReport(r report) error {
	sl := s.slots[r.slot]
	if sl == nil {
		if pid, ok := s.lateForks[r.slot]; ok && pid == r.pid {
			delete(s.lateForks, r.slot)
			return nil
		}
		return fmt.Errorf("%w: report 'k' for slot %d, which is not being forked", errBadReport, r.slot)
	}
	switch {
	case sl.sawFork:
		return fmt.Errorf("%w: a second report 'k' for slot %d", errBadReport, r.slot)
	case sl.pid != 0 && r.pid != sl.pid:
		return fmt.Errorf("%w: slot %d's child is pid %d, but its shell reports pid %d", errBadReport, r.slot, sl.pid, r.pid)
	}
	sl.sawFork = true
	return s.learnPid(sl, r.pid)
}

// learnPid records the pid of a slot's child from the first report that
// names it, and opens a pidfd for it (by which the pool follows its exit
// whoever reaps it). A child that is already gone fails its slot. s.mu is
// held.
func (s *Shell) learnPid(sl *slot, pid int) error {
	if sl.pid != 0 {
		return nil
	}
	// A child of a forker that died is the shell's (the session is over).
	if p, ok := proc.Parent(pid); ok && p != s.forker && p != s.PID() {
		return fmt.Errorf("%w: slot %d reported pid %d, which is not a child of the forker", errBadReport, sl.n, pid)
	}
	sl.pid = pid
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		if sl.failed == "" {
			sl.failed = fmt.Sprintf("its child (pid %d) died at once: %v", pid, err)
		}
		sl.forked.Go()
		sl.ready.Go()
		return nil
	}
	sl.pidfd = fd
	sl.end = s.endFIFO(pid)
	sl.forked.Go()
	return nil
}

// endFIFO makes the FIFO that child pid writes its end report to (see
// bootIsolated), and opens it: read-write and non-blocking, so that it
// never reads as ended and never blocks the child. Without it (a failure
// is logged) the child's calls end when it has exited.
func (s *Shell) endFIFO(pid int) *os.File {
	path := filepath.Join(s.dir, strconv.Itoa(pid)+".0")
	unix.Unlink(path) // a name left by an earlier process with this pid
	if err := unix.Mkfifo(path, 0o600); err != nil {
		s.log.Warn("end FIFO", "err", err)
		return nil
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		unix.Unlink(path)
		s.log.Warn("end FIFO", "err", err)
		return nil
	}
	return os.NewFile(uintptr(fd), path)
}

// dropSlot forgets a slot that is finished (its call ended, or the session
// closes). If its fork report has not come yet, its pid is kept
// until it does. s.mu is held.
func (s *Shell) dropSlot(sl *slot) {
	delete(s.slots, sl.n)
	if !sl.sawFork && sl.pid != 0 {
		s.lateForks[sl.n] = sl.pid
	}
}

// setupReport applies a child's report that its call is set up ("s") or
// cannot be ("e": its directory): the slot must be handed to a call and
// not have reported yet. s.mu is held.
func (s *Shell) setupReport(r report) error {
	sl := s.slots[r.slot]
	if sl == nil || !sl.used || sl.setup.Fired() {
		return fmt.Errorf("%w: report %q for slot %d, which has no call setting up", errBadReport, r.kind, r.slot)
	}
	if r.kind == 'e' {
		sl.setupFailed = "cwd"
	}
	sl.setup.Go()
	return nil
}

// forkAhead makes sure the shell has children for the next two calls. The
// spares thread and a call that finds no child announced may both call it:
// forkMu keeps the fork messages in the order of their slots.
func (s *Shell) forkAhead() error {
	s.forkMu.Lock()
	defer s.forkMu.Unlock()
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
	if sl, err := s.nextSlot(); err == nil && sl != nil {
		return &sl.ready
	}
	return &s.gone
}

// nextSlot returns the slot of the next call (nil: none, the session is
// closing). The spares are forked after each call's result (see runSlot):
// one that was not asked for yet is asked for now, so that neither a call
// that comes first nor a wait for warmth waits for the next call.
func (s *Shell) nextSlot() (*slot, error) {
	s.mu.Lock()
	sl := s.slots[s.next]
	s.mu.Unlock()
	if sl != nil {
		return sl, nil
	}
	if err := s.forkAhead(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slots[s.next], nil
}
