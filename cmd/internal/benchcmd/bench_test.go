package benchcmd

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCFlag(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		concurrency int
		script      string
		scriptSet   bool
		wantErr     string
	}{
		{[]string{"-c", "4"}, 4, "", false, ""},
		{[]string{"-c", "echo hi"}, 1, "echo hi", true, ""},
		{[]string{"-c", "3", "-c", "true"}, 3, "true", true, ""},
		{[]string{"--concurrency", "2", "--script", "7"}, 2, "7", true, ""},
		{[]string{"-c", "0"}, 1, "", false, "below 1"},
		{[]string{"-c", "-2"}, 1, "", false, "below 1"},
		{[]string{"-c", "a", "-c", "b"}, 1, "a", true, "already"},
		{[]string{"-n", "0"}, 1, "", false, "minimum 1"},
	} {
		o := &options{n: 200, concurrency: 1}
		err := newWith(o, Streams{}).ParseFlags(tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || o.concurrency != tc.concurrency || o.script != tc.script || o.scriptSet != tc.scriptSet {
			t.Errorf("%q: concurrency %d script %q (set %v), %v; want %d %q %v", tc.args, o.concurrency, o.script, o.scriptSet, err, tc.concurrency, tc.script, tc.scriptSet)
		}
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
	} {
		err := tc.o.validate(tc.argv)
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("validate(%+v, %q) = %v, want %q", tc.o, tc.argv, err, tc.wantErr)
		}
	}
}

func TestMeasure(t *testing.T) {
	var calls atomic.Int64
	s, err := measure(context.Background(), 20, 3, func(context.Context) (bool, error) {
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
	_, err = measure(context.Background(), 50, 2, func(context.Context) (bool, error) {
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
