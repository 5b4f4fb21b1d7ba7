package flagval_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/cmd/internal/flagval"
	"github.com/spf13/pflag"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// parse defines the flags on a new set through define and parses args.
func parse(t *testing.T, define func(*pflag.FlagSet), args ...string) error {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	define(fs)
	return fs.Parse(args)
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		arg     string
		want    time.Duration
		wantErr string
	}{
		{"1m30s", 90 * time.Second, ""},
		{" 500ms ", 500 * time.Millisecond, ""},
		{"0", 0, ""},
		{"0s", 0, ""},
		{"-1s", 0, "negative duration -1s"},
		{"10", 0, "not a duration"},
		{"soon", 0, "not a duration"},
		{"", 0, "not a duration"},
	} {
		var d time.Duration
		err := parse(t, func(fs *pflag.FlagSet) { flagval.DurationVar(fs, &d, "wait", "", 7*time.Second, "") }, "--wait="+tc.arg)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("--wait=%q: %v", tc.arg, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "--wait")):
			t.Errorf("--wait=%q: error %v, want one naming --wait and saying %q", tc.arg, err, tc.wantErr)
		case tc.wantErr == "" && d != tc.want:
			t.Errorf("--wait=%q: %v, want %v", tc.arg, d, tc.want)
		}
	}
}

func TestDurationDefaultAndHelp(t *testing.T) {
	var d, z time.Duration
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flagval.DurationVar(fs, &d, "wait", "w", 3*time.Second, "")
	flagval.DurationVar(fs, &z, "zero", "", 0, "")
	if d != 3*time.Second {
		t.Errorf("default %v, want 3s", d)
	}
	if have := fs.Lookup("wait").DefValue; have != "3s" {
		t.Errorf("DefValue %q, want 3s", have)
	}
	if have := fs.Lookup("zero").DefValue; have != "0" {
		t.Errorf("zero DefValue %q, want 0", have)
	}
	if have := fs.Lookup("wait").Value.Type(); have != "duration" {
		t.Errorf("Type %q", have)
	}
	if err := fs.Parse([]string{"-w", "1h"}); err != nil || d != time.Hour {
		t.Errorf("-w 1h: %v, %v", d, err)
	}
}

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		arg     string
		want    int
		wantErr string
	}{
		{"0", 0, ""},
		{"12", 12, ""},
		{" 3 ", 3, ""},
		{"-1", 0, "-1 is below the minimum 0"},
		{"1.5", 0, "not a whole number"},
		{"many", 0, "not a whole number"},
	} {
		n := 5
		err := parse(t, func(fs *pflag.FlagSet) { flagval.IntVar(fs, &n, "count", "", 5, 0, "") }, "--count", tc.arg)
		switch {
		case tc.wantErr == "" && (err != nil || n != tc.want):
			t.Errorf("--count %q: %d, %v; want %d", tc.arg, n, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "--count")):
			t.Errorf("--count %q: error %v, want one naming --count and saying %q", tc.arg, err, tc.wantErr)
		}
	}
	n := 0
	if err := parse(t, func(fs *pflag.FlagSet) { flagval.IntVar(fs, &n, "n", "", 1, 1, "") }, "--n", "0"); err == nil {
		t.Error("--n 0 with minimum 1: no error")
	}
}

func TestEnum(t *testing.T) {
	words := []string{"text", "json"}
	for _, tc := range []struct {
		arg, want string
		ok        bool
	}{
		{"json", "json", true},
		{"JSON", "json", true},
		{" Text ", "text", true},
		{"xml", "text", false},
		{"", "text", false},
	} {
		var v string
		err := parse(t, func(fs *pflag.FlagSet) { flagval.EnumVar(fs, &v, "format", "text", words, "") }, "--format="+tc.arg)
		if tc.ok != (err == nil) || v != tc.want {
			t.Errorf("--format=%q: %q, %v; want %q (ok %v)", tc.arg, v, err, tc.want, tc.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "--format") || !strings.Contains(err.Error(), "text, json")) {
			t.Errorf("--format=%q: error %q names neither the flag nor the words", tc.arg, err)
		}
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	var v string
	flagval.EnumVar(fs, &v, "format", "text", words, "")
	if have := fs.Lookup("format").Value.Type(); have != "text|json" {
		t.Errorf("Type %q, want text|json", have)
	}
}
