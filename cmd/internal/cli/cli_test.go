package cli_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/spf13/cobra"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run executes a two-level tree whose "do" subcommand returns ret, with
// args, and returns the status, stdout and stderr.
func run(ret error, args ...string) (int, string, string) {
	var out, errb strings.Builder
	p := cli.Program{Name: "prog", UsageCode: 2, FailCode: 1, Stdout: &out, Stderr: &errb}
	root := &cobra.Command{Use: "prog", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return nil }}
	var flag int
	do := &cobra.Command{Use: "do", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		fmt.Fprint(cmd.OutOrStdout(), "ran")
		return ret
	}}
	do.Flags().IntVar(&flag, "num", 0, "")
	root.AddCommand(do)
	code := p.Execute(context.Background(), root, args)
	return code, out.String(), errb.String()
}

func TestExecute(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ret        error
		args       []string
		code       int
		out, err   string // err: exact stderr
		errContain string
	}{
		{"success", nil, []string{"do"}, 0, "ran", "", ""},
		{"exit error", cli.Exit(42, errors.New("bad thing")), []string{"do"}, 42, "ran", "prog: bad thing\n", ""},
		{"silent exit", cli.Exit(7, nil), []string{"do"}, 7, "ran", "", ""},
		{"wrapped exit", fmt.Errorf("ctx: %w", cli.Exit(9, errors.New("inner"))), []string{"do"}, 9, "ran", "prog: inner\n", ""},
		{"usage error", cli.Usagef("--x %d: wrong", 3), []string{"do"}, 2, "ran", "prog: --x 3: wrong\nRun 'prog do --help' for usage.\n", ""},
		{"plain error", errors.New("boom"), []string{"do"}, 1, "ran", "prog: boom\n", ""},
		{"prefixed already", errors.New("prog: said"), []string{"do"}, 1, "ran", "prog: said\n", ""},
		{"unknown flag", nil, []string{"do", "--nope"}, 2, "", "", "unknown flag: --nope"},
		{"bad flag value", nil, []string{"do", "--num", "x"}, 2, "", "", `invalid argument "x" for "--num"`},
		{"unknown command", nil, []string{"nosuch"}, 2, "", "", `unknown command "nosuch"`},
		{"extra argument", nil, []string{"do", "extra"}, 2, "", "", "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(tc.ret, tc.args...)
			if code != tc.code || out != tc.out {
				t.Errorf("status %d stdout %q, want %d %q (stderr %q)", code, out, tc.code, tc.out, errs)
			}
			if tc.errContain == "" && errs != tc.err {
				t.Errorf("stderr %q, want %q", errs, tc.err)
			}
			if tc.errContain != "" && (!strings.HasPrefix(errs, "prog: ") || !strings.Contains(errs, tc.errContain) || !strings.Contains(errs, "--help")) {
				t.Errorf("stderr %q, want prog: ...%s... and a --help hint", errs, tc.errContain)
			}
		})
	}
}

func TestExitError(t *testing.T) {
	inner := errors.New("inner")
	err := cli.Exit(3, inner)
	if !errors.Is(err, inner) || err.Error() != "inner" {
		t.Errorf("Exit(3, inner): %v, Is inner %v", err, errors.Is(err, inner))
	}
	if have := cli.Exit(4, nil).Error(); have != "exit status 4" {
		t.Errorf("Exit(4, nil).Error() = %q", have)
	}
	var u *cli.UsageError
	if err := cli.Usagef("x %s", "y"); !errors.As(err, &u) || err.Error() != "x y" {
		t.Errorf("Usagef: %v", err)
	}
}
