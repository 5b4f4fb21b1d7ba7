package benchcmd

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ms returns the sorted latencies 1ms..n ms.
func ms(n int) []time.Duration {
	var d []time.Duration
	for i := n; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	sortDurations(d)
	return d
}

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		n    int
		q    float64
		want time.Duration
	}{
		{100, 0.5, 50 * time.Millisecond},
		{100, 0.9, 90 * time.Millisecond},
		{100, 0.99, 99 * time.Millisecond},
		{100, 1, 100 * time.Millisecond},
		{10, 0.99, 10 * time.Millisecond}, // nearest rank rounds up
		{10, 0.5, 5 * time.Millisecond},
		{3, 0.5, 2 * time.Millisecond},
		{1, 0.5, time.Millisecond},
		{1, 0.99, time.Millisecond},
		{0, 0.5, 0},
	} {
		if have := percentile(ms(tc.n), tc.q); have != tc.want {
			t.Errorf("percentile(1..%dms, %v) = %v, want %v", tc.n, tc.q, have, tc.want)
		}
	}
}

func TestReportJSON(t *testing.T) {
	r := report{
		n: 100, concurrency: 4,
		daemon: side{latencies: ms(100), wall: 2 * time.Second},
		spawn:  side{latencies: scale(ms(100), 3), wall: 6 * time.Second},
	}
	var buf bytes.Buffer
	if err := r.writeJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(buf.String(), "}\n") || strings.Count(buf.String(), "\n") != 1 {
		t.Errorf("not one line: %q", buf.String())
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	if keys := sortedKeys(top); !slices.Equal(keys, []string{"concurrency", "daemon", "n", "spawn", "speedup_p50"}) {
		t.Errorf("keys %q", keys)
	}
	var have jsonReport
	json.Unmarshal(buf.Bytes(), &have)
	want := jsonReport{
		N: 100, Concurrency: 4,
		Daemon:     jsonSide{P50US: 50000, P90US: 90000, P99US: 99000, PerSec: 50},
		Spawn:      jsonSide{P50US: 150000, P90US: 270000, P99US: 297000, PerSec: 16.7},
		SpeedupP50: 3,
	}
	if have != want {
		t.Errorf("report\n have %+v\n want %+v", have, want)
	}
	var side map[string]json.RawMessage
	json.Unmarshal(top["daemon"], &side)
	if keys := sortedKeys(side); !slices.Equal(keys, []string{"p50_us", "p90_us", "p99_us", "per_sec"}) {
		t.Errorf("daemon keys %q", keys)
	}
}

func TestReportWithoutTime(t *testing.T) {
	// A side with no wall time and no latencies gives zeros, not NaN or Inf
	// (which JSON cannot carry).
	r := report{n: 1, concurrency: 1}
	var buf bytes.Buffer
	if err := r.writeJSON(&buf); err != nil {
		t.Fatalf("writeJSON of an empty report: %v", err)
	}
	if err := r.writeText(&buf, "-- true"); err != nil {
		t.Fatal(err)
	}
}

func TestReportText(t *testing.T) {
	r := report{
		n: 100, concurrency: 2,
		daemon: side{latencies: scale(ms(100), 0.01), wall: time.Second},
		spawn:  side{latencies: ms(100), wall: 4 * time.Second},
	}
	var buf bytes.Buffer
	if err := r.writeText(&buf, `-- "true"`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`mothreads bench: -- "true"`, "100 calls per side, 2 at a time", "500µs", "50.00ms", "100.00x", "4.00x"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Microsecond:  "850µs",
		1500 * time.Microsecond: "1.50ms",
		2500 * time.Millisecond: "2.50s",
	} {
		if have := dur(d); have != want {
			t.Errorf("dur(%v) = %q, want %q", d, have, want)
		}
	}
}

func scale(d []time.Duration, f float64) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, v := range d {
		out[i] = time.Duration(float64(v) * f)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
