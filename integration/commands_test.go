//go:build linux

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon(nil)
	e.run("exec", "--", "true").want(t, 0)

	r := e.run("status").want(t, 0)
	for _, want := range []string{"serving", e.socket, "sessions", "calls", "latency"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status does not show %q:\n%s", want, r.stdout)
		}
	}

	r = e.run("status", "--json").want(t, 0)
	var all map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatalf("status --json: %v in %q", err, r.stdout)
	}
	for _, k := range []string{"socket", "version", "pid", "started_at", "serving", "pool", "calls"} {
		if _, ok := all[k]; !ok {
			t.Errorf("status --json has no %q: %s", k, r.stdout)
		}
	}
	for group, keys := range map[string][]string{
		"pool": {"sessions_idle", "sessions_busy", "sessions_starting", "sticky_sessions", "queue_length",
			"sessions_spawned", "sessions_recycled", "sessions_replaced", "session_start_failures",
			"min_idle", "max_sessions", "max_sticky", "sticky_idle_timeout_ms", "queue_wait_p50_us", "queue_wait_p99_us", "queue_wait_max_us"},
		"calls": {"started", "in_flight", "ok", "failed", "timed_out", "cancelled", "session_lost", "rejected",
			"latency_p50_us", "latency_p90_us", "latency_p99_us"},
	} {
		m, _ := all[group].(map[string]any)
		for _, k := range keys {
			if _, ok := m[k].(float64); !ok {
				t.Errorf("status --json: %s.%s missing or not a number: %s", group, k, r.stdout)
			}
		}
	}
	s := e.status()
	if !s.Serving || s.PID != d.cmd.Process.Pid || s.Socket != e.socket || s.Version == "" {
		t.Errorf("status: %+v, want serving, pid %d, socket %s, a version", s, d.cmd.Process.Pid, e.socket)
	}
	if s.Calls.Started < 1 || s.Calls.OK < 1 {
		t.Errorf("status after one call: %+v", s.Calls)
	}

	// --socket wins over MOTHREADS_SOCKET.
	other := filepath.Join(e.dir, "other.sock")
	r = e.run("status", "--socket", other).want(t, 125)
	if !strings.Contains(r.stderr, other) {
		t.Errorf("status --socket %s: stderr %q does not name it", other, r.stderr)
	}
}

// TestWithoutDaemon: status and stop find no daemon, say so, and start
// none.
func TestWithoutDaemon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, args := range [][]string{{"status"}, {"status", "--json"}} {
		r := e.run(args...).want(t, 125)
		if want := "no daemon answers at " + e.socket; !strings.Contains(r.stderr, want) {
			t.Errorf("%q: stderr %q does not contain %q", args, r.stderr, want)
		}
		if r.stdout != "" {
			t.Errorf("%q: stdout %q, want none", args, r.stdout)
		}
	}
	// stop is idempotent: no daemon is what it wants (status 0, a note).
	r := e.run("stop").want(t, 0)
	if want := "no daemon running at " + e.socket; !strings.Contains(r.stderr, want) {
		t.Errorf("stop: stderr %q does not contain %q", r.stderr, want)
	}
	e.socketGone()
	if d := e.markedDaemons(); len(d) > 0 {
		t.Errorf("daemons started by status or stop: %v", d)
	}
}

// TestStop: stop returns only once the daemon has exited (status 0, after
// the call in flight finished) and its socket is gone.
func TestStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.serveDaemon(nil)
	pid := d.cmd.Process.Pid
	cmd := e.cli([]string{"exec", "-c", "echo ready; sleep 0.3; echo finished"})
	lines := startReading(t, cmd)
	lines.expect(t, "ready")

	e.run("stop").want(t, 0)
	if !exited(pid) {
		t.Errorf("stop returned while the daemon (pid %d) still runs", pid)
	}
	e.socketGone()
	lines.expect(t, "finished")
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("the call in flight at stop: exit status %d, want 0", code)
	}
	if code := d.wait(t); code != 0 {
		t.Errorf("mothreadsd after stop: exit status %d, want 0; log:\n%s", code, d.logs)
	}
	if !strings.Contains(d.logs.String(), "shutdown complete") {
		t.Errorf("no ordered shutdown in the log:\n%s", d.logs)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	line := regexp.MustCompile(`^mothreads \S+\n`)
	r := e.run("version").want(t, 0)
	if !line.MatchString(r.stdout) || !strings.Contains(r.stdout, "daemon: none answers at "+e.socket) {
		t.Errorf("version without a daemon: %q", r.stdout)
	}
	if r := e.run("--version").want(t, 0); !regexp.MustCompile(`^mothreads version \S+\n$`).MatchString(r.stdout) {
		t.Errorf("mothreads --version: %q", r.stdout)
	}
	d := e.startDaemon(nil)
	r = e.run("version").want(t, 0)
	daemonLine := regexp.MustCompile(`(?m)^daemon \S+ \(pid (\d+), ` + regexp.QuoteMeta(e.socket) + `\)$`)
	m := daemonLine.FindStringSubmatch(r.stdout)
	if !line.MatchString(r.stdout) || m == nil || m[1] != strconv.Itoa(d.cmd.Process.Pid) {
		t.Errorf("version with a daemon (pid %d): %q", d.cmd.Process.Pid, r.stdout)
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("completion", "bash").want(t, 0)
	if !strings.Contains(r.stdout, "mothreads") || !strings.Contains(r.stdout, "complete ") {
		t.Fatalf("completion bash printed no completion script:\n%.500s", r.stdout)
	}
	script := filepath.Join(e.dir, "completion.bash")
	if err := os.WriteFile(script, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Errorf("bash -n on the completion script: %v\n%s", err, out)
	}
	for _, shell := range []string{"zsh", "fish"} {
		if r := e.run("completion", shell).want(t, 0); r.stdout == "" {
			t.Errorf("completion %s printed nothing", shell)
		}
	}
	// Cobra's hidden completion entry point completes subcommands.
	r = e.run("__complete", "st")
	if !strings.Contains(r.stdout, "status") || !strings.Contains(r.stdout, "stop") {
		t.Errorf("completing \"st\": %q", r.stdout)
	}
}

// benchKeys are the keys of bench --json, exactly as DESIGN.md fixes them.
var (
	benchKeys = []string{"concurrency", "daemon", "n", "spawn", "speedup_p50"}
	sideKeys  = []string{"p50_us", "p90_us", "p99_us", "per_sec"}
)

func TestBenchJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name        string
		args        []string
		concurrency float64
	}{
		{"argv", []string{"bench", "-n", "6", "--json", "--", "true"}, 1},
		{"script, concurrent", []string{"bench", "-n", "6", "-j", "2", "--json", "-c", "echo hi >/dev/null"}, 2},
		{"sticky, with a gap", []string{"bench", "-n", "4", "--session", "b1", "--gap", "1ms", "--json", "-c", "true"}, 1},
		{"init", []string{"bench", "-n", "4", "--init", "MTI_INIT=1", "--json", "-c", `[ "$MTI_INIT" = 1 ]`}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(tc.args...).want(t, 0)
			if r.stderr != "" {
				t.Errorf("stderr %q, want none (every call succeeds)", r.stderr)
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal([]byte(r.stdout), &top); err != nil {
				t.Fatalf("bench --json: %v in %q", err, r.stdout)
			}
			if keys := sortedKeys(top); !slices.Equal(keys, benchKeys) {
				t.Errorf("keys %q, want exactly %q", keys, benchKeys)
			}
			var v struct {
				N, Concurrency float64
				SpeedupP50     float64 `json:"speedup_p50"`
			}
			json.Unmarshal([]byte(r.stdout), &v)
			if v.N != float64(atoiArg(tc.args, "-n")) || v.Concurrency != tc.concurrency || v.SpeedupP50 <= 0 {
				t.Errorf("n %v, concurrency %v, speedup_p50 %v; want %s, %v, > 0", v.N, v.Concurrency, v.SpeedupP50, tc.args[2], tc.concurrency)
			}
			for _, side := range []string{"daemon", "spawn"} {
				var m map[string]float64
				if err := json.Unmarshal(top[side], &m); err != nil {
					t.Errorf("%s: %v in %s", side, err, top[side])
					continue
				}
				if keys := sortedKeys(m); !slices.Equal(keys, sideKeys) {
					t.Errorf("%s keys %q, want exactly %q", side, keys, sideKeys)
				}
				if m["p50_us"] <= 0 || m["p50_us"] > m["p90_us"] || m["p90_us"] > m["p99_us"] || m["per_sec"] <= 0 {
					t.Errorf("%s figures out of order: %v", side, m)
				}
			}
		})
	}
}

// TestBenchOlderCFlag: -c N (a whole number) still sets the callers, with a
// note on stderr that names -j.
func TestBenchOlderCFlag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("bench", "-n", "4", "-c", "2", "--json", "-c", "true").want(t, 0)
	if !strings.Contains(r.stderr, "deprecated") || !strings.Contains(r.stderr, "-j 2") {
		t.Errorf("stderr %q, want a deprecation note naming -j 2", r.stderr)
	}
	var v struct{ Concurrency float64 }
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Concurrency != 2 {
		t.Errorf("concurrency %v, %v; want 2", v.Concurrency, err)
	}
}

// TestBenchSuite runs the suite with 3 calls per side of the quick rows: one
// JSON object, one entry per path of issue 10, each with both sides, the
// ratio and, where the issue sets one, the target and the verdict.
func TestBenchSuite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("bench", "--suite", "-n", "3", "--json").want(t, 0)
	var v struct {
		CPUs int
		Rows []struct {
			Path      string
			Mothreads struct {
				P50US float64 `json:"p50_us"`
			}
			Baseline struct {
				P50US float64 `json:"p50_us"`
			}
			Ratio  float64
			Target float64
			Met    *bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("bench --suite --json: %v in %q", err, r.stdout)
	}
	if len(v.Rows) != 10 || v.CPUs < 1 {
		t.Fatalf("%d rows (cpus %d), want 10:\n%s", len(v.Rows), v.CPUs, r.stdout)
	}
	for _, row := range v.Rows {
		if row.Mothreads.P50US <= 0 || row.Baseline.P50US <= 0 || row.Ratio <= 0 || (row.Target > 0) != (row.Met != nil) {
			t.Errorf("row %+v", row)
		}
	}
	if r := e.run("bench", "--suite", "-c", "true"); r.code != 125 || !strings.Contains(r.stderr, "--suite") {
		t.Errorf("--suite with a script: status %d, stderr %q", r.code, r.stderr)
	}
}

func TestBenchText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("bench", "-n", "3", "--", "echo", "a b").want(t, 0)
	for _, want := range []string{`-- "echo" "a b"`, "3 calls per side", "p50", "p90", "p99", "calls/s", "daemon", "spawn", "spawn/daemon"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("bench output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "-n", "0", "--", "true"}, "-n"},
		{[]string{"bench", "-c", "0", "--", "true"}, "concurrency"},
		{[]string{"bench", "-j", "0", "--", "true"}, "concurrency"},
		{[]string{"bench"}, "nothing to run"},
		{[]string{"bench", "-c", "true", "--", "true"}, "not both"},
	} {
		if r := e.run(tc.args...).want(t, 125); !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: stderr %q does not contain %q", tc.args, r.stderr, tc.want)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// atoiArg returns the number after flag in args, or 0.
func atoiArg(args []string, flag string) int {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return 0
	}
	n, _ := strconv.Atoi(args[i+1])
	return n
}
