//go:build linux

package pool_test

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/internal/proctest"
	"github.com/mothreads/mothreads/pool"
)

// TestSpareChildrenKilled kills -9 the pre-forked children of every idle
// session at once. The next calls must still run: each broken session is
// replaced before the call starts. The pool used to retry a call on one
// other session only, so with two sessions broken the call failed with
// "waking slot N: write pipe: broken pipe" (found by
// TestFaultIdleSessionPartsKilled in integration).
func TestSpareChildrenKilled(t *testing.T) {
	// A spare child's parent is its session's forker, whose parent is the
	// session's shell, the test's child. A child killed while its call is
	// being woken would rightly report that call killed by SIGKILL: they
	// are dead before any call.
	p := warmPoolKilling(t, "spare children", func(parent int) bool {
		return parent != os.Getpid() && parentPID(parent) != os.Getpid() && strings.HasPrefix(cmdlineOf(parent), "mothreads-session-")
	})
	for i := range 6 {
		want := strconv.Itoa(i) + "\n"
		req := script("echo " + strconv.Itoa(i))
		if i%2 == 1 {
			req = argv("echo", strconv.Itoa(i))
		}
		o, err := tryRun(p, req)
		if err != nil {
			t.Fatalf("call %d after the kill: %v", i, err)
		}
		wantExit(t, o, 0)
		if o.stdout != want || o.stderr != "" {
			t.Errorf("call %d: stdout %q stderr %q", i, o.stdout, o.stderr)
		}
	}
}

// A session whose forker dies (the subshell that forks the children for
// calls) is replaced before a call is given to it.
func TestForkerKilled(t *testing.T) {
	p := warmPoolKilling(t, "forkers", func(parent int) bool {
		return parent != os.Getpid() && parentPID(parent) == os.Getpid()
	})
	for i := range 4 {
		o, err := tryRun(p, script("echo "+strconv.Itoa(i)))
		if err != nil {
			t.Fatalf("call %d after the kill: %v", i, err)
		}
		wantExit(t, o, 0)
		if want := strconv.Itoa(i) + "\n"; o.stdout != want || o.stderr != "" {
			t.Errorf("call %d: stdout %q stderr %q", i, o.stdout, o.stderr)
		}
	}
}

// warmPoolKilling warms a pool (two idle sessions of at most three), kills
// with SIGKILL each of its processes that pick (given its parent's pid)
// chooses, at least two of them, and returns the pool once they are dead.
func warmPoolKilling(t *testing.T, what string, pick func(parent int) bool) *pool.Pool {
	t.Helper()
	tag := "MT_KILLED=" + proctest.NewMarker()
	p := testPool(t, pool.Config{MinIdle: 2, MaxSessions: 3, Env: append(os.Environ(), tag)})
	for range 4 {
		wantExit(t, run(t, p, script("echo warm")), 0)
	}
	if err := p.WaitWarm(t.Context()); err != nil {
		t.Fatal(err)
	}
	var killed []int
	for _, pid := range taggedProcesses(tag) {
		if !pick(parentPID(pid)) {
			continue
		}
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			t.Cleanup(func() { unix.Close(fd) })
			if unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil {
				killed = append(killed, fd)
			}
		}
	}
	if len(killed) < 2 {
		t.Fatalf("killed %d %s, want at least 2", len(killed), what)
	}
	for _, fd := range killed {
		if n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 5000); n != 1 {
			t.Fatalf("one of the killed %s did not die: %v", what, err)
		}
	}
	return p
}

// taggedProcesses returns the processes with tag (KEY=VALUE) in their
// environment.
func taggedProcesses(tag string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(env, []byte(tag+"\x00")) {
			out = append(out, pid)
		}
	}
	return out
}

// parentPID returns pid's parent, 0 when pid is gone.
func parentPID(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func cmdlineOf(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
}
