package benchcmd

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRowMet: a speedup meets its target from above, a slowdown from
// below, and a row without a target has no verdict.
func TestRowMet(t *testing.T) {
	fast, slow := side{latencies: ms(10)}, side{latencies: scale(ms(10), 4)}
	for _, tc := range []struct {
		name   string
		r      row
		ratio  float64
		met    string
		target string
	}{
		{"speedup met", latencyRow("p", "b", fast, slow, speedup, 3), 4, "yes", "≥ 3x"},
		{"speedup missed", latencyRow("p", "b", fast, slow, speedup, 8), 4, "no", "≥ 8x"},
		{"slowdown met", latencyRow("p", "b", slow, fast, slowdown, 4), 4, "yes", "≤ 4x"},
		{"slowdown missed", latencyRow("p", "b", slow, fast, slowdown, 1.2), 4, "no", "≤ 1.2x"},
		{"no target", latencyRow("p", "b", fast, slow, speedup, 0), 4, "—", "—"},
	} {
		if tc.r.Ratio != tc.ratio || tc.r.metText() != tc.met || tc.r.targetText() != tc.target {
			t.Errorf("%s: ratio %v met %s target %s; want %v %s %s", tc.name, tc.r.Ratio, tc.r.metText(), tc.r.targetText(), tc.ratio, tc.met, tc.target)
		}
	}
	if r := latencyRow("p", "b", fast, slow, speedup, 0); r.Met != nil {
		t.Errorf("a row without a target has a verdict: %v", *r.Met)
	}
}

func suiteRows() []row {
	a, b := side{latencies: ms(100), wall: time.Second}, side{latencies: scale(ms(100), 2), wall: 2 * time.Second}
	r2 := latencyRow("pool in-process → through the daemon", "pool.Run in-process", b, a, slowdown, overheadRatio)
	r2.FloorUS, r2.Note = 100, "+50 µs"
	r3 := latencyRow("CLI end to end", "bash -c true, as a process", b, a, slowdown, 2)
	r3.StartupUS = 5000
	return []row{latencyRow("isolated script true", "bash -c true", a, b, speedup, 3), r2, r3}
}

// TestSuiteJSON: one object on one line, the machine's fields and one
// entry per row, each with both sides and the verdict.
func TestSuiteJSON(t *testing.T) {
	m := machineNow(100)
	m.finish()
	var buf bytes.Buffer
	if err := writeSuiteJSON(&buf, m, suiteRows()); err != nil {
		t.Fatal(err)
	}
	if strings.Count(buf.String(), "\n") != 1 {
		t.Errorf("not one line: %q", buf.String())
	}
	var v struct {
		Date string
		CPUs int
		N    int
		Rows []map[string]json.RawMessage
	}
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Date == "" || v.CPUs < 1 || v.N != 100 || len(v.Rows) != 3 {
		t.Fatalf("decoded %+v", v)
	}
	for _, r := range v.Rows {
		for _, k := range []string{"path", "mothreads", "baseline", "ratio", "ratio_is", "target", "met"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %s lacks %q", r["path"], k)
			}
		}
	}
	if string(v.Rows[1]["unary_floor_us"]) != "100" {
		t.Errorf("the pool row's floor: %s", v.Rows[1]["unary_floor_us"])
	}
	if string(v.Rows[2]["startup_floor_us"]) != "5000" {
		t.Errorf("the CLI row's start-up floor: %s", v.Rows[2]["startup_floor_us"])
	}
}

// TestSuiteText: a header with the machine, one line per row with both
// medians, the ratio, the target and the verdict, then the notes.
func TestSuiteText(t *testing.T) {
	m := machineNow(100)
	m.finish()
	var buf bytes.Buffer
	if err := writeSuiteText(&buf, m, suiteRows()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if !strings.HasPrefix(lines[0], "mothreads bench --suite, ") || !strings.Contains(lines[1], "load average") {
		t.Errorf("header:\n%s", buf.String())
	}
	want := [][]string{
		{"path", "mothreads p50 / p99", "baseline p50 / p99", "ratio", "target", "met?"},
		{"isolated script true", "50.00ms / 99.00ms", "bash -c true", "100.00ms / 198.00ms", "2.00x faster", "≥ 3x", "no"},
		{"pool in-process → through the daemon", "100.00ms / 198.00ms", "2.00x slower", "≤ 1.21x", "no"},
	}
	for i, words := range want {
		for _, w := range words {
			if !strings.Contains(lines[3+i], w) {
				t.Errorf("line %q lacks %q", lines[3+i], w)
			}
		}
	}
	if !slices.Contains(lines, "pool in-process → through the daemon: +50 µs") {
		t.Errorf("no note line:\n%s", buf.String())
	}
}
