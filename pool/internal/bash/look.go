//go:build linux

package bash

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// Dir is the shell's current directory.
func (s *Shell) Dir() string {
	d, err := os.Readlink("/proc/" + strconv.Itoa(s.PID()) + "/cwd")
	if err != nil {
		return ""
	}
	return d
}

// Jobs lists the process groups below the shell other than its own: the
// jobs of a sticky session (the foreground one included while a call runs).
func (s *Shell) Jobs() []driver.Job {
	sid := s.PID()
	byGroup := map[int]*driver.Job{}
	var order []int
	for _, pid := range proc.Descendants(sid) {
		st := proc.Stat(pid)
		if st.PGID == sid || st.PGID <= 0 {
			continue
		}
		j := byGroup[st.PGID]
		if j == nil {
			j = &driver.Job{PGID: st.PGID, State: "running"}
			byGroup[st.PGID] = j
			order = append(order, st.PGID)
		}
		j.PIDs = append(j.PIDs, pid)
		if st.State == "T" || st.State == "t" {
			j.State = "stopped"
		}
		if pid == st.PGID {
			j.Command = cmdline(pid)
		}
	}
	slices.Sort(order)
	out := make([]driver.Job, 0, len(order))
	for _, g := range order {
		j := byGroup[g]
		if j.Command == "" && len(j.PIDs) > 0 {
			j.Command = cmdline(j.PIDs[0])
		}
		out = append(out, *j)
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// Log returns the session's background output from offset from.
func (s *Shell) Log(from int64) ([]byte, int64, *signals.Signal) {
	return s.backgroundLog().Read(from)
}

// errNoInput is the error of Input when nothing can take it.
var errNoInput = errors.New("the session runs no command that reads input the pool can give")

// Input writes data to the running call's stdin (a call started with
// OpenStdin) or to the session's terminal. A write that the command does
// not take within a few seconds fails rather than blocking the caller.
func (s *Shell) Input(data []byte, eof, tty bool) error {
	if !s.spec.Sticky {
		return errNoInput
	}
	if tty {
		if len(data) > 0 {
			if _, err := s.tty.Write(data); err != nil {
				return fmt.Errorf("%s: terminal: %w", s.name, err)
			}
		}
		if eof {
			s.tty.Write([]byte{4}) // ^D
		}
		return nil
	}
	s.mu.Lock()
	var w *openInput
	if s.sticky != nil {
		w = s.sticky.stdin
	}
	s.mu.Unlock()
	if w == nil {
		return errNoInput
	}
	return w.write(data, eof)
}

// Waiting says what the running command is blocked reading: its stdin
// ("stdin"), the session's terminal ("terminal"), or neither ("").
func (s *Shell) Waiting() string {
	s.mu.Lock()
	st := s.sticky
	running := st != nil && st.started.Fired() && !st.done.Fired()
	s.mu.Unlock()
	if !running {
		return ""
	}
	for _, pid := range append([]int{s.PID()}, proc.Descendants(s.PID())...) {
		fd, ok := proc.ReadingFD(pid)
		if !ok {
			continue
		}
		target, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(fd))
		switch {
		case err != nil:
		case strings.HasPrefix(target, "/dev/pts/") || target == "/dev/tty":
			return "terminal"
		case fd == 0 && (strings.HasPrefix(target, "pipe:") || strings.HasPrefix(target, s.dir)):
			return "stdin"
		}
	}
	return ""
}

// openInput is the open stdin of a sticky call (OpenStdin): Input writes to
// it; the call's end closes it.
type openInput struct {
	f *os.File
}

func (w *openInput) write(data []byte, eof bool) error {
	if len(data) > 0 {
		w.f.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := w.f.Write(data); err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
	}
	if eof {
		// A command that ended as soon as it read the data has had its
		// input closed by the call's end: the end of input it asked for.
		if err := w.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			return fmt.Errorf("stdin: %w", err)
		}
	}
	return nil
}
