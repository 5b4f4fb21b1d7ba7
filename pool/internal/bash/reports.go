//go:build linux

package bash

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mothreads/mothreads/signals"
)

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
		if u := s.unfenced; u != nil && r.kind == 'z' && r.slot == u.slot {
			s.unfenced = nil
			return u.route(r)
		}
		if s.sticky == nil {
			return fmt.Errorf("%w: sticky report %q with no call running", errBadReport, r.kind)
		}
		return s.sticky.route(r)
	}
	return fmt.Errorf("%w: %q", errBadReport, r.kind)
}
