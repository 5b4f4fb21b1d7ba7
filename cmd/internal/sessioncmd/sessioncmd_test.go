package sessioncmd

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

var sessions = []client.SessionInfo{
	{Name: "dev", PID: 10, Dir: "/src/a b\xff\n", LastUsedAt: now.Add(-90 * time.Second), Calls: 4, IdleTimeout: time.Hour,
		LogBytes: 12, Jobs: []client.Job{{PGID: 11, PIDs: []int{11, 12}, State: "running", Command: "python3 -m http.server"}}},
	{Name: "ci", PID: 20, Dir: "/", Busy: true, Waiting: "stdin", Calls: 1},
}

func TestPrintSessions(t *testing.T) {
	var b bytes.Buffer
	if err := printSessions(&b, sessions, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, want := range [][]string{
		{"NAME", "PID", "CALLS", "STATE", "IDLE", "EXPIRES", "JOBS", "LOG", "CWD"},
		{"dev", "10", "4", "idle", "1m30s", "idle 1h0m0s", "1", "12B", `/src/a b\xff\n`},
		{"ci", "20", "1", "waiting on stdin", "-", "never", "0", "0B", "/"},
	} {
		for _, field := range want {
			if !strings.Contains(lines[i], field) {
				t.Errorf("line %d %q lacks %q", i, lines[i], field)
			}
		}
	}
	b.Reset()
	if err := printSessions(&b, nil, now); err != nil || b.String() != "no sticky sessions\n" {
		t.Errorf("empty list: %q %v", b.String(), err)
	}
}

func TestJobsAndJSON(t *testing.T) {
	var b bytes.Buffer
	if err := printJobs(&b, sessions[0].Jobs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "11    running  11,12  python3 -m http.server") {
		t.Errorf("jobs table:\n%s", b.String())
	}
	j, err := json.Marshal(toJSON(sessions[1]))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"ci"`, `"waiting":"stdin"`, `"jobs":[]`, `"idle_timeout_ms":0`} {
		if !strings.Contains(string(j), want) {
			t.Errorf("JSON %s lacks %s", j, want)
		}
	}
}
