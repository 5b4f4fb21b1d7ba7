//go:build linux

package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
)

// dial returns a client of the env's daemon, closed by the test's cleanup.
func (e *env) dial(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), client.WithSocket(e.socket))
	if err != nil {
		t.Fatalf("dial %s: %v", e.socket, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pid is the daemon's process id.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// procStatusKB returns a "kB" field of /proc/PID/status (VmRSS, VmHWM).
func procStatusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the status of process %d: %v", pid, err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("process %d: %s %q: %v", pid, field, rest, err)
			}
			return n
		}
	}
	t.Fatalf("process %d has no %s", pid, field)
	return 0
}

// openFDs counts the open file descriptors of pid.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("listing the fds of process %d: %v", pid, err)
	}
	return len(entries)
}

// parentOf returns the parent process id of pid, or 0 when pid is gone.
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: skip past its end.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// descendants returns every live process below pid in the process tree.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := parentOf(p); pp != 0 {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	next := []int{pid}
	for len(next) > 0 {
		p := next[0]
		next = next[1:]
		out = append(out, children[p]...)
		next = append(next, children[p]...)
	}
	slices.Sort(out)
	return out
}

// goroutineTotal matches the header of a goroutine profile (debug=1).
var goroutineTotal = regexp.MustCompile(`goroutine profile: total (\d+)\n`)

// goroutines asks the daemon for a goroutine dump (SIGUSR1, written to its
// log) and returns the number of goroutines it lists.
func (d *daemon) goroutines(t *testing.T) int {
	t.Helper()
	from := len(d.logs.String())
	if err := d.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatalf("SIGUSR1 to the daemon: %v", err)
	}
	deadline := time.After(daemonStartBound)
	for {
		changed := d.logs.Changed()
		m := goroutineTotal.FindStringSubmatch(d.logs.String()[from:])
		if m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			return n
		}
		select {
		case <-changed:
		case <-d.done:
			t.Fatalf("the daemon exited before dumping its goroutines")
		case <-deadline:
			t.Fatalf("no goroutine dump within %v of SIGUSR1", daemonStartBound)
		}
	}
}

// status returns the daemon's Status, failing the test on error.
func status(t *testing.T, c *client.Client) *client.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliBound)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}

// waitStatus polls Status until cond holds, for states that no event
// reports (a session replaced, the pool settled), within cliBound.
func waitStatus(t *testing.T, c *client.Client, what string, cond func(*client.Status) bool) *client.Status {
	t.Helper()
	deadline := time.Now().Add(cliBound)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		st := status(t, c)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not the case after %v; status %+v", what, cliBound, st)
		}
		<-tick.C
	}
}

// signalWriter is an io.Writer that collects output and closes a channel
// once the output contains a given string.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func newSignalWriter(want string) *signalWriter {
	return &signalWriter{want: want, seen: make(chan struct{})}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := bytes.Contains(w.buf.Bytes(), []byte(w.want))
	w.buf.Write(p)
	if !had && bytes.Contains(w.buf.Bytes(), []byte(w.want)) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitSeen waits until the output holds the string, or fails after bound.
func (w *signalWriter) waitSeen(t *testing.T, bound time.Duration) {
	t.Helper()
	select {
	case <-w.seen:
	case <-time.After(bound):
		t.Fatalf("output %q never contained %q within %v", w.String(), w.want, bound)
	}
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
