package envflag_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mothreads/mothreads/cmd/internal/envflag"
	"github.com/spf13/pflag"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestName(t *testing.T) {
	for flag, want := range map[string]string{
		"min-idle":      "MOTHREADS_MIN_IDLE",
		"socket":        "MOTHREADS_SOCKET",
		"tls-client-ca": "MOTHREADS_TLS_CLIENT_CA",
	} {
		if have := envflag.Name("MOTHREADS", flag); have != want {
			t.Errorf("Name(%q) = %q, want %q", flag, have, want)
		}
	}
}

// settings is a flag set like the daemon's, bound to variables.
type settings struct {
	fs    *pflag.FlagSet
	count int
	name  string
	list  []string
	help  bool
}

func newSettings() *settings {
	s := &settings{fs: pflag.NewFlagSet("test", pflag.ContinueOnError)}
	s.fs.SetOutput(new(strings.Builder))
	s.fs.IntVar(&s.count, "max-count", 1, "how many")
	s.fs.StringVar(&s.name, "name", "default", "a name")
	s.fs.StringArrayVar(&s.list, "item", nil, "items")
	s.fs.BoolVarP(&s.help, "help", "h", false, "help")
	envflag.Bind(s.fs, "T")
	return s
}

func lookup(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestApply(t *testing.T) {
	s := newSettings()
	if err := s.fs.Parse([]string{"--name", "cli"}); err != nil {
		t.Fatal(err)
	}
	err := envflag.Apply(s.fs, lookup(map[string]string{
		"T_MAX_COUNT": "4",
		"T_NAME":      "env", // the command line wins
		"T_ITEM":      "a,b",
		"T_HELP":      "true", // help is not bound
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.count != 4 || s.name != "cli" || !slices.Equal(s.list, []string{"a,b"}) || s.help {
		t.Errorf("count %d name %q list %q help %v; want 4, cli, [a,b], false", s.count, s.name, s.list, s.help)
	}
}

func TestApplyEmptyIsUnset(t *testing.T) {
	s := newSettings()
	s.fs.Parse(nil)
	if err := envflag.Apply(s.fs, lookup(map[string]string{"T_MAX_COUNT": "", "T_NAME": ""})); err != nil {
		t.Fatal(err)
	}
	if s.count != 1 || s.name != "default" {
		t.Errorf("count %d name %q, want the defaults", s.count, s.name)
	}
}

func TestApplyBadValue(t *testing.T) {
	s := newSettings()
	s.fs.Parse(nil)
	err := envflag.Apply(s.fs, lookup(map[string]string{"T_MAX_COUNT": "lots"}))
	if err == nil {
		t.Fatal("no error for T_MAX_COUNT=lots")
	}
	for _, want := range []string{`"lots"`, "T_MAX_COUNT", "--max-count"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %s", err, want)
		}
	}
}

func TestBindAddsTheVariableToTheHelp(t *testing.T) {
	s := newSettings()
	if have := s.fs.Lookup("max-count").Usage; have != "how many (env T_MAX_COUNT)" {
		t.Errorf("usage %q", have)
	}
	if have := s.fs.Lookup("help").Usage; have != "help" {
		t.Errorf("help's usage %q, want it unchanged", have)
	}
}
