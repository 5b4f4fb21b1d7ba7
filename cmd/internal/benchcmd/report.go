package benchcmd

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

func sortDurations(d []time.Duration) { slices.Sort(d) }

// percentile is the nearest-rank q-quantile of sorted (0 < q <= 1).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// report is the result of a bench run.
type report struct {
	n, concurrency int
	daemon, spawn  side
}

// jsonSide and jsonReport are the --json shape fixed by DESIGN.md.
type jsonSide struct {
	P50US  float64 `json:"p50_us"`
	P90US  float64 `json:"p90_us"`
	P99US  float64 `json:"p99_us"`
	PerSec float64 `json:"per_sec"`
}

type jsonReport struct {
	N           int      `json:"n"`
	Concurrency int      `json:"concurrency"`
	Daemon      jsonSide `json:"daemon"`
	Spawn       jsonSide `json:"spawn"`
	SpeedupP50  float64  `json:"speedup_p50"`
}

func (s side) json() jsonSide {
	return jsonSide{
		P50US:  round(us(percentile(s.latencies, 0.5)), 1),
		P90US:  round(us(percentile(s.latencies, 0.9)), 1),
		P99US:  round(us(percentile(s.latencies, 0.99)), 1),
		PerSec: round(s.perSec(), 1),
	}
}

func (s side) perSec() float64 {
	if s.wall <= 0 {
		return 0
	}
	return float64(len(s.latencies)) / s.wall.Seconds()
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// ratio is a/b, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (r report) writeJSON(w io.Writer) error {
	d, s := r.daemon.json(), r.spawn.json()
	out := jsonReport{N: r.n, Concurrency: r.concurrency, Daemon: d, Spawn: s,
		SpeedupP50: round(ratio(us(percentile(r.spawn.latencies, 0.5)), us(percentile(r.daemon.latencies, 0.5))), 2)}
	return json.NewEncoder(w).Encode(out)
}

func (r report) writeText(w io.Writer, what string) error {
	fmt.Fprintf(w, "mothreads bench: %s\n%d calls per side, %d at a time\n\n", what, r.n, r.concurrency)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tp50\tp90\tp99\tcalls/s\t")
	row := func(name string, s side) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t\n", name, dur(percentile(s.latencies, 0.5)),
			dur(percentile(s.latencies, 0.9)), dur(percentile(s.latencies, 0.99)), s.perSec())
	}
	row("daemon", r.daemon)
	row("spawn", r.spawn)
	x := func(q float64) string {
		return fmt.Sprintf("%.2fx", ratio(us(percentile(r.spawn.latencies, q)), us(percentile(r.daemon.latencies, q))))
	}
	fmt.Fprintf(tw, "spawn/daemon\t%s\t%s\t%s\t%.2fx\t\n", x(0.5), x(0.9), x(0.99), ratio(r.daemon.perSec(), r.spawn.perSec()))
	return tw.Flush()
}

// dur formats d in a unit that fits it.
func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", us(d))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}
