//go:build linux

package bash

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// readStatus reads the shell's status lines until the pipe closes, and
// routes each to the slot (or sticky call) it concerns.
func (s *Shell) readStatus() {
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

func (s *Shell) statusLine(line string) {
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
func (s *Shell) readDiagnostics(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		s.log.Debug("shell diagnostics", "line", sc.Text())
	}
}
