//go:build linux

package proctest

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Marked returns the live processes with name=value in their environment,
// except this one. A process that changed its environment after it
// started is still found by what it started with.
func Marked(name, value string) []int {
	entries, _ := os.ReadDir("/proc")
	want := []byte(name + "=" + value + "\x00")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(env, want) {
			out = append(out, pid)
		}
	}
	return out
}

// WaitGone waits up to bound for pid to exit, through a pidfd (no
// polling), and reports whether it has. A zero bound only looks.
func WaitGone(pid int, bound time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // gone already
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(bound)
	for {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
		if n > 0 {
			return true
		}
		if err != unix.EINTR || time.Now().After(deadline) {
			return false
		}
	}
}

// AssertNoLeftovers fails t for every process with name=value in its
// environment that is still alive after bound (processes being killed get
// that long to vanish), and kills it so that it does not outlive the test
// run too.
func AssertNoLeftovers(t testing.TB, name, value string, bound time.Duration) {
	t.Helper()
	for _, pid := range Marked(name, value) {
		if !WaitGone(pid, bound) {
			t.Errorf("process %d (%.80q) outlived the test (C8)", pid, Cmdline(pid))
			unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// Cmdline returns pid's command line, its arguments separated by spaces
// ("" if it is gone).
func Cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}
