//go:build unix

package portable

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	"github.com/mothreads/mothreads/signals"
)

// callState is what the shell reported about the call in progress. The
// fields other than token are set by the status reader, under Shell.mu,
// before it fires the Signal that says so.
type callState struct {
	token   string
	started signals.Signal // the child was forked (pid), or could not be (failed)
	ended   signals.Signal // the child has ended: kind and code are set
	pid     int
	failed  bool
	kind    string // "exit", "signal" or "unknown" (the job table said nothing)
	code    int    // what wait returned: 0-255, 128+N for a signal N; unknown: maybe -1
}

// bootState is the shell's answer to its start: "ready", or the init
// script's failure.
type bootState struct {
	done     signals.Signal
	ready    bool
	initCode int
}

// readStatus reads the shell's reports until the status pipe ends. A report
// that is malformed, out of turn or for another call retires the session:
// only the session's shell writes there, so it can only come from a
// command that reached the pipe through /proc.
func (s *Shell) readStatus() {
	sc := bufio.NewScanner(s.status)
	sc.Buffer(make([]byte, 256), 4096)
	for sc.Scan() {
		if err := s.report(sc.Text()); err != nil {
			s.violation(err.Error())
			break
		}
	}
	s.status.Close()
	s.statusRead.Go()
}

func (s *Shell) report(line string) error {
	f := strings.Fields(line)
	if !s.boot.done.Fired() {
		switch {
		case len(f) == 1 && f[0] == "ready":
			s.boot.ready = true
		case len(f) == 2 && f[0] == "init":
			s.boot.initCode, _ = strconv.Atoi(f[1])
		default:
			return fmt.Errorf("unexpected start report %q", line)
		}
		s.boot.done.Go()
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cur
	if c == nil || len(f) < 2 || f[0] != c.token {
		return fmt.Errorf("report for no call in progress: %.80q", line)
	}
	switch {
	case f[1] == "fail" && len(f) == 2 && !c.started.Fired():
		c.failed = true
		c.started.Go()
	case f[1] == "pid" && len(f) == 3 && !c.started.Fired():
		pid, err := strconv.Atoi(f[2])
		if err != nil || pid <= 1 {
			return fmt.Errorf("bad pid report %.80q", line)
		}
		c.pid = pid
		c.started.Go()
	case f[1] == "end" && len(f) == 4 && c.started.Fired() && !c.failed && !c.ended.Fired():
		code, err := strconv.Atoi(f[3])
		// Only an unknown kind may come with a code wait could not give
		// (-1: the shell found no such child).
		bad := code < 0 || code > 255
		if err != nil || f[2] != "exit" && f[2] != "signal" && f[2] != "unknown" || bad && f[2] != "unknown" {
			return fmt.Errorf("bad end report %.80q", line)
		}
		c.kind, c.code = f[2], code
		c.ended.Go()
	default:
		return fmt.Errorf("report out of turn: %.80q", line)
	}
	return nil
}
