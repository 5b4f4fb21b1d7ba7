package daemoncmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// parsed returns the daemon's flags after parsing args.
func parsed(t *testing.T, args ...string) *flags {
	t.Helper()
	f := new(flags)
	fs := pflag.NewFlagSet("mothreadsd", pflag.ContinueOnError)
	f.define(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return f
}

func TestConfig(t *testing.T) {
	f := parsed(t, "--socket", "/s.sock", "--shell", "sh", "--init", "X=1", "--min-idle", "3", "--max-sessions", "5",
		"--max-uses", "7", "--max-age", "2m", "--idle-timeout", "1m", "--queue-timeout", "4s", "--default-timeout", "9s",
		"--kill-grace", "300ms", "--drain-timeout", "8s", "--exit-idle", "10m", "--max-sticky", "2", "--sticky-idle-timeout", "90s")
	cfg, err := f.config("v1")
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Pool
	if cfg.Socket != "/s.sock" || cfg.ExitIdle != 10*time.Minute || cfg.Version != "v1" || p.Shell != "sh" || p.Init != "X=1" ||
		p.MinIdle != 3 || p.MaxSessions != 5 || p.MaxUses != 7 || p.MaxAge != 2*time.Minute || p.IdleTimeout != time.Minute ||
		p.QueueTimeout != 4*time.Second || p.DefaultTimeout != 9*time.Second || p.KillGrace != 300*time.Millisecond || p.DrainTimeout != 8*time.Second {
		t.Errorf("config %+v", cfg)
	}
	if p.MaxSticky != 2 || p.StickyIdleTimeout != 90*time.Second {
		t.Errorf("sticky settings: max %d, idle timeout %v", p.MaxSticky, p.StickyIdleTimeout)
	}
	d := parsed(t)
	if cfg, err := d.config("v"); err != nil || cfg.Pool.MinIdle != DefaultMinIdle || cfg.Pool.MaxUses != DefaultMaxUses || cfg.Pool.Shell != "bash" {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open-token")
	if err := os.WriteFile(open, []byte("0123456789abcdef0123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short-token")
	if err := os.WriteFile(short, []byte("a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--min-idle", "4", "--max-sessions", "2"}, "--min-idle 4 is over --max-sessions 2"},
		{[]string{"--max-sticky", "3", "--max-sessions", "2"}, "--max-sticky 3 is over --max-sessions 2"},
		{[]string{"--queue-timeout", "0"}, "--queue-timeout must be positive"},
		{[]string{"--kill-grace", "0s"}, "--kill-grace must be positive"},
		{[]string{"--drain-timeout", "0"}, "--drain-timeout must be positive"},
		{[]string{"--shell", ""}, "--shell: empty"},
		{[]string{"--shell", "/no/such/sh"}, `--shell "/no/such/sh"`},
		{[]string{"--listen", "127.0.0.1:1"}, "--listen: refusing TCP on 127.0.0.1:1 without client authentication"},
		{[]string{"--token-file", tok}, "--token-file: applies to the TCP listener only, and --listen is empty"},
		{[]string{"--listen", ":1", "--tls-cert", "/etc/hostname"}, "--tls-cert: needs --tls-key too"},
		{[]string{"--listen", ":1", "--tls-key", "/etc/hostname"}, "--tls-key: needs --tls-cert too"},
		{[]string{"--listen", ":1", "--token-file", tok, "--tls-client-ca", "/etc/hostname"}, "--tls-client-ca: needs TLS (--tls-cert and --tls-key)"},
		{[]string{"--listen", "127.0.0.1:1", "--token-file", "/no/such/token"}, "--token-file: reading the token: open /no/such/token"},
		{[]string{"--listen", "127.0.0.1:1", "--token-file", "/etc"}, "--token-file: /etc is not a regular file"},
		// H3: TLS without client authentication.
		{[]string{"--listen", "127.0.0.1:1", "--tls-cert", "/c", "--tls-key", "/k"}, "--listen: refusing TCP on 127.0.0.1:1 with TLS but no client authentication"},
		{[]string{"--listen", "127.0.0.1:1", "--token-file", tok, "--insecure-no-client-auth"}, "--insecure-no-client-auth: needs TLS"},
		// L5: token hygiene.
		{[]string{"--listen", "127.0.0.1:1", "--token-file", open}, "--token-file: " + open + " is readable or writable by its group or others (mode 0644); make it 0600"},
		{[]string{"--listen", "127.0.0.1:1", "--token-file", short}, "--token-file: the token in " + short + " is 1 bytes; use at least 16"},
		{[]string{"--listen", "0.0.0.0:1", "--token-file", tok}, "--listen: refusing a token without TLS on 0.0.0.0:1, which is not a loopback address"},
		{[]string{"--listen", ":1", "--token-file", tok}, "which is not a loopback address"},
		{[]string{"--init", "x", "--init-file", tok}, "--init and --init-file exclude each other"},
	} {
		_, err := parsed(t, tc.args...).config("v")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
	for _, ok := range [][]string{
		{"--listen", "127.0.0.1:1", "--token-file", tok},
		{"--listen", "[::1]:1", "--token-file", tok},
		{"--listen", "localhost:1", "--token-file", tok},
		{"--listen", "0.0.0.0:1", "--token-file", tok, "--insecure-cleartext-token"},
	} {
		if _, err := parsed(t, ok...).config("v"); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	cfg, err := parsed(t, "--init-file", tok).config("v")
	if err != nil || cfg.Pool.Init != "0123456789abcdef0123\n" {
		t.Errorf("--init-file: %q, %v", cfg.Pool.Init, err)
	}
}

func TestMainUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--version"}, 0, "mothreadsd version ", ""},
		{[]string{"--log-format", "xml"}, ExitUsage, "", `invalid argument "xml" for "--log-format"`},
		{[]string{"--shell", "/no/such/sh"}, ExitUsage, "", `--shell "/no/such/sh"`},
		{[]string{"stray"}, ExitUsage, "", `unknown command "stray"`},
	} {
		var out, errb strings.Builder
		code := Main(context.Background(), tc.args, &out, &errb)
		if code != tc.code || !strings.HasPrefix(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("%q: status %d stdout %q stderr %q; want %d, %q..., ...%q...", tc.args, code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderr)
		}
	}
}
