//go:build linux

package integration

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mothreads/mothreads/internal/proctest"
)

// daemonStatus is the part of `mothreads status --json` the tests read.
type daemonStatus struct {
	Socket  string `json:"socket"`
	Version string `json:"version"`
	PID     int    `json:"pid"`
	Serving bool   `json:"serving"`
	Pool    struct {
		SessionsIdle int `json:"sessions_idle"`
		MinIdle      int `json:"min_idle"`
		MaxSessions  int `json:"max_sessions"`
	} `json:"pool"`
	Calls struct {
		Started int64 `json:"started"`
		OK      int64 `json:"ok"`
	} `json:"calls"`
}

// status runs `mothreads status --json`, requires exit status 0 and
// returns the decoded figures.
func (e *env) status() daemonStatus {
	e.t.Helper()
	r := e.run("status", "--json").want(e.t, 0)
	var s daemonStatus
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		e.t.Fatalf("status --json: %v in %q", err, r.stdout)
	}
	return s
}

// stopOnCleanup makes the test's cleanup run `mothreads stop`, for daemons
// that the CLI auto-started and the test therefore does not own. It runs
// before the env's leftover check.
func (e *env) stopOnCleanup() {
	e.t.Cleanup(func() {
		if r := e.run("stop"); r.code != 0 {
			e.t.Errorf("mothreads stop at cleanup: status %d, stderr %q", r.code, r.stderr)
		}
	})
}

// staleSocket leaves a socket file on the env's socket path that nothing
// listens on, as a daemon killed with SIGKILL does.
func (e *env) staleSocket() {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Dir(e.socket), 0o700); err != nil {
		e.t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: e.socket, Net: "unix"})
	if err != nil {
		e.t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Lstat(e.socket); err != nil {
		e.t.Fatalf("the stale socket is not there: %v", err)
	}
}

// socketGone fails the test unless the env's socket file is gone.
func (e *env) socketGone() {
	e.t.Helper()
	if _, err := os.Lstat(e.socket); !errors.Is(err, os.ErrNotExist) {
		e.t.Errorf("socket %s still there (%v)", e.socket, err)
	}
}

// exited reports whether pid has exited (or been reaped) by now, without
// waiting.
func exited(pid int) bool { return proctest.WaitGone(pid, 0) }

// procArgs returns pid's command line, split.
func procArgs(pid int) []string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// procSession returns pid's session id (field 6 of /proc/PID/stat), or -1.
func procSession(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 4 {
		return -1
	}
	sid, err := strconv.Atoi(fields[3])
	if err != nil {
		return -1
	}
	return sid
}

// markedDaemons returns the marked processes that run a daemon: mothreadsd,
// or mothreads in its daemon mode. A daemon's own children are left out:
// between fork and exec a session's process looks exactly like its daemon
// (same argv, same environment), and a session's launcher runs the
// daemon's binary for a moment (under load, each was once counted as a
// second daemon).
func (e *env) markedDaemons() []int {
	var out []int
	for _, pid := range proctest.Marked(proctest.MarkerVar, e.marker) {
		args := procArgs(pid)
		if len(args) > 1 && (filepath.Base(args[0]) == "mothreadsd" || args[1] == "daemon") {
			out = append(out, pid)
		}
	}
	return slices.DeleteFunc(slices.Clone(out), func(pid int) bool { return slices.Contains(out, parentOf(pid)) })
}
