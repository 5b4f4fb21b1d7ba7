package benchcmd

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		concurrency int
		script      string
		scriptSet   bool
		deprecated  bool
		wantErr     string
	}{
		{[]string{"-j", "4"}, 4, "", false, false, ""},
		{[]string{"--concurrency", "2", "-c", "echo hi"}, 2, "echo hi", true, false, ""},
		{[]string{"-c", "echo hi"}, 1, "echo hi", true, false, ""},
		{[]string{"-c", "4"}, 4, "", false, true, ""}, // the older form of -j
		{[]string{"-c", "3", "-c", "true"}, 3, "true", true, true, ""},
		{[]string{"-j", "0"}, 1, "", false, false, "below 1"},
		{[]string{"-j", "x"}, 1, "", false, false, "whole number"},
		{[]string{"-c", "0"}, 1, "", false, false, "below 1"},
		{[]string{"-c", "-2"}, 1, "", false, false, "below 1"},
		{[]string{"-c", "a", "-c", "b"}, 1, "a", true, false, "already"},
		{[]string{"-n", "0"}, 1, "", false, false, "minimum 1"},
		{[]string{"--gap", "-1s"}, 1, "", false, false, "negative"},
	} {
		o := &options{n: 200, concurrency: 1}
		err := newWith(o, Streams{}).ParseFlags(tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || o.concurrency != tc.concurrency || o.script != tc.script || o.scriptSet != tc.scriptSet || o.deprecatedC != tc.deprecated {
			t.Errorf("%q: concurrency %d script %q (set %v, deprecated -c %v), %v; want %d %q %v %v",
				tc.args, o.concurrency, o.script, o.scriptSet, o.deprecatedC, err, tc.concurrency, tc.script, tc.scriptSet, tc.deprecated)
		}
	}
	o := &options{n: 200, concurrency: 1}
	if err := newWith(o, Streams{}).ParseFlags([]string{"--session", "dev", "--gap", "2ms", "--suite"}); err != nil || o.session != "dev" || o.gap != 2*time.Millisecond || !o.suite {
		t.Errorf("--session --gap --suite: %+v, %v", o, err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		o       options
		argv    []string
		wantErr string
	}{
		{options{}, []string{"true"}, ""},
		{options{script: "true", scriptSet: true}, nil, ""},
		{options{}, nil, "nothing to run"},
		{options{script: "true", scriptSet: true}, []string{"true"}, "not both"},
		{options{script: "  ", scriptSet: true}, nil, "empty script"},
		{options{suite: true, concurrency: 1}, nil, ""},
		{options{suite: true, concurrency: 1}, []string{"true"}, "only -n and --json"},
		{options{suite: true, concurrency: 1, session: "s"}, nil, "only -n and --json"},
	} {
		err := tc.o.validate(tc.argv)
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("validate(%+v, %q) = %v, want %q", tc.o, tc.argv, err, tc.wantErr)
		}
	}
}

func TestMeasure(t *testing.T) {
	var calls atomic.Int64
	s, err := measure(context.Background(), 20, 3, 0, func(context.Context) (bool, error) {
		return calls.Add(1)%4 != 0, nil // every fourth call fails
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 20 || len(s.latencies) != 20 || s.failed != 5 || s.wall <= 0 {
		t.Errorf("calls %d, latencies %d, failed %d, wall %v; want 20, 20, 5, > 0", calls.Load(), len(s.latencies), s.failed, s.wall)
	}
	var ticks atomic.Int64
	boom := errors.New("boom")
	_, err = measure(context.Background(), 50, 2, 0, func(context.Context) (bool, error) {
		if ticks.Load() >= 3 {
			return false, boom
		}
		return true, nil
	}, func() { ticks.Add(1) })
	if !errors.Is(err, boom) {
		t.Errorf("measure with a failing call: %v, want boom", err)
	}
	if ticks.Load() >= 50 {
		t.Errorf("measure went on after the error: %d ticks", ticks.Load())
	}
}

// TestInterleave: both sides make n calls, in turns of 20 calls per caller
// (one call each with one caller and a gap), and a gap follows each call.
func TestInterleave(t *testing.T) {
	var mu sync.Mutex
	var order []byte
	side := func(name byte) func(context.Context) (bool, error) {
		return func(context.Context) (bool, error) {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return true, nil
		}
	}
	a, b, err := interleave(context.Background(), 45, 1, 0, side('a'), side('b'), nil)
	if err != nil || len(a.latencies) != 45 || len(b.latencies) != 45 {
		t.Fatalf("interleave: %d and %d calls, %v; want 45 each", len(a.latencies), len(b.latencies), err)
	}
	if have, want := string(order), strings.Repeat("a", 20)+strings.Repeat("b", 20)+strings.Repeat("a", 20)+strings.Repeat("b", 20)+"aaaaabbbbb"; have != want {
		t.Errorf("order %s, want %s", have, want)
	}
	synctest.Test(t, func(t *testing.T) {
		order = nil
		start := time.Now()
		a, _, err := interleave(context.Background(), 3, 1, 5*time.Millisecond, side('a'), side('b'), nil)
		if err != nil || string(order) != "ababab" {
			t.Errorf("with a gap: order %s, %v; want ababab", order, err)
		}
		if elapsed := time.Since(start); elapsed != 6*5*time.Millisecond || a.wall != 3*5*time.Millisecond {
			t.Errorf("with a 5 ms gap: 6 calls took %v (side a's wall %v); want 30 ms (15 ms)", elapsed, a.wall)
		}
	})
}

func TestDescribe(t *testing.T) {
	o := options{init: "source x"}
	if have, want := o.describe([]string{"echo", "a b"}), `-- "echo" "a b", --init "source x"`; have != want {
		t.Errorf("describe = %q, want %q", have, want)
	}
	o = options{script: "echo hi", scriptSet: true}
	if have, want := o.describe(nil), `-c "echo hi"`; have != want {
		t.Errorf("describe = %q, want %q", have, want)
	}
}
