package benchcmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ratioKind says which way a row's ratio reads: a speedup is baseline over
// mothreads (above 1: mothreads is faster), a slowdown mothreads over
// baseline (above 1: mothreads is slower).
type ratioKind string

const (
	speedup  ratioKind = "speedup"
	slowdown ratioKind = "slowdown"
)

// row is one line of the suite's table.
type row struct {
	Path    string    `json:"path"`
	Mine    rowSide   `json:"mothreads"`
	Base    rowSide   `json:"baseline"`
	Ratio   float64   `json:"ratio"`
	Kind    ratioKind `json:"ratio_is"`
	RatioOf string    `json:"ratio_of"` // what the ratio compares: "p50", "calls/s", "MB/s"
	// Target is the target for the ratio (a least speedup or a
	// most slowdown); 0 means none, and then Met is nil.
	Target float64 `json:"target,omitempty"`
	Met    *bool   `json:"met"`
	// FloorUS is a near-empty unary call's median (the pool row);
	// StartupUS the median start-up of this binary as a process, without a
	// call (the CLI row); DaemonRSSGrowthKB how much the daemon's peak RSS
	// grew (the 100 MB row).
	FloorUS           float64 `json:"unary_floor_us,omitempty"`
	StartupUS         float64 `json:"startup_floor_us,omitempty"`
	DaemonRSSGrowthKB int64   `json:"daemon_rss_growth_kib,omitempty"`
	Note              string  `json:"note,omitempty"`
}

// rowSide is one side of a row.
type rowSide struct {
	What     string  `json:"what"`
	N        int     `json:"n"`
	P50US    float64 `json:"p50_us"`
	P99US    float64 `json:"p99_us"`
	PerSec   float64 `json:"per_sec"`
	MBPerSec float64 `json:"mb_per_sec,omitempty"`
}

func newRowSide(what string, s side) rowSide {
	return rowSide{What: what, N: len(s.latencies),
		P50US: round(us(percentile(s.latencies, 0.5)), 1), P99US: round(us(percentile(s.latencies, 0.99)), 1),
		PerSec: round(s.perSec(), 1)}
}

// latencyRow is a row whose ratio compares the medians.
func latencyRow(path, baseline string, mine, base side, kind ratioKind, target float64) row {
	r := row{Path: path, Mine: newRowSide("mothreads", mine), Base: newRowSide(baseline, base), Kind: kind, RatioOf: "p50", Target: target}
	m, b := us(percentile(mine.latencies, 0.5)), us(percentile(base.latencies, 0.5))
	if kind == speedup {
		r.Ratio = ratio(b, m)
	} else {
		r.Ratio = ratio(m, b)
	}
	r.met()
	return r
}

// met sets Met from Ratio and Target.
func (r *row) met() {
	r.Ratio = round(r.Ratio, 2)
	if r.Target == 0 {
		r.Met = nil
		return
	}
	ok := r.Ratio >= r.Target
	if r.Kind == slowdown {
		ok = r.Ratio <= r.Target
	}
	r.Met = &ok
}

// machine describes where and when the suite ran.
type machine struct {
	Date      string     `json:"date"`
	OS        string     `json:"os"`
	CPUs      int        `json:"cpus"`
	CPU       string     `json:"cpu,omitempty"`
	Kernel    string     `json:"kernel,omitempty"`
	Bash      string     `json:"bash,omitempty"`
	LoadAvg   [2]float64 `json:"load_avg"` // 1-minute load at the start and at the end
	N         int        `json:"n"`
	DurationS float64    `json:"duration_s"`
	start     time.Time
}

func machineNow(n int) *machine {
	m := &machine{Date: time.Now().Format(time.RFC3339), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(), N: n, start: time.Now()}
	m.LoadAvg[0] = loadAvg()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.Command("bash", "-c", `printf %s "$BASH_VERSION"`).Output(); err == nil {
		m.Bash = string(out)
	}
	return m
}

func (m *machine) finish() {
	m.LoadAvg[1] = loadAvg()
	m.DurationS = round(time.Since(m.start).Seconds(), 1)
}

// loadAvg is the 1-minute load average, 0 when unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// procStatusKB reads a "kB" field of /proc/PID/status (VmRSS, VmHWM); 0
// when unknown.
func procStatusKB(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func writeSuiteJSON(w io.Writer, m *machine, rows []row) error {
	return json.NewEncoder(w).Encode(struct {
		*machine
		Rows []row `json:"rows"`
	}{m, rows})
}

func writeSuiteText(w io.Writer, m *machine, rows []row) error {
	fmt.Fprintf(w, "mothreads bench --suite, %s: %s, %d CPUs", m.Date, m.OS, m.CPUs)
	if m.CPU != "" {
		fmt.Fprintf(w, " (%s)", m.CPU)
	}
	if m.Kernel != "" {
		fmt.Fprintf(w, ", Linux %s", m.Kernel)
	}
	if m.Bash != "" {
		fmt.Fprintf(w, ", bash %s", m.Bash)
	}
	fmt.Fprintf(w, "\nload average %.2f at the start, %.2f at the end; %d calls per side of the quick rows; each row's two sides measured in turns; %.0f s in all\n\n",
		m.LoadAvg[0], m.LoadAvg[1], m.N, m.DurationS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "path\tmothreads p50 / p99\tbaseline\tbaseline p50 / p99\tratio\ttarget\tmet?")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Path, pair(r.Mine), r.Base.What, pair(r.Base), r.ratioText(), r.targetText(), r.metText())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Path, r.Note)
		}
	}
	return nil
}

func pair(s rowSide) string {
	return dur(time.Duration(s.P50US*1e3)) + " / " + dur(time.Duration(s.P99US*1e3))
}

func (r row) ratioText() string {
	word := "faster"
	if r.Kind == slowdown {
		word = "slower"
	}
	if r.RatioOf != "p50" {
		word += " (" + r.RatioOf + ")"
		if r.Kind == speedup {
			word = "of the baseline's " + r.RatioOf
		}
	}
	return fmt.Sprintf("%.2fx %s", r.Ratio, word)
}

func (r row) targetText() string {
	switch {
	case r.Target == 0:
		return "—"
	case r.Kind == speedup:
		return fmt.Sprintf("≥ %gx", round(r.Target, 2))
	default:
		return fmt.Sprintf("≤ %gx", round(r.Target, 2))
	}
}

func (r row) metText() string {
	switch {
	case r.Met == nil:
		return "—"
	case *r.Met:
		return "yes"
	default:
		return "no"
	}
}
