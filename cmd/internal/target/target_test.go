package target

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func resolve(t *testing.T, args ...string) (Target, error) {
	t.Helper()
	var f Flags
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	f.Define(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.Resolve()
}

func TestResolve(t *testing.T) {
	for _, v := range []string{EnvSocket, EnvAddress, EnvDaemonUID, EnvTLSCert, EnvTLSKey, EnvTLSCA, EnvTokenFile} {
		t.Setenv(v, "")
	}
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/7")
	if tg, err := resolve(t); err != nil || tg.Socket != "/run/user/7/mothreads/mothreads.sock" || tg.Address != "" {
		t.Errorf("defaults: %+v, %v", tg, err)
	}
	if tg, err := resolve(t, "--socket", "rel.sock"); err != nil || !filepath.IsAbs(tg.Socket) || len(tg.Options) != 1 {
		t.Errorf("relative socket: %+v, %v", tg, err)
	}
	if tg, err := resolve(t, "--daemon-uid", "1001"); err != nil || len(tg.Options) != 2 {
		t.Errorf("--daemon-uid: %+v, %v", tg, err)
	}
	t.Setenv(EnvAddress, "dns:///fleet:7070")
	if tg, err := resolve(t); err != nil || tg.Address != "dns:///fleet:7070" || tg.Socket != "" || tg.String() != "dns:///fleet:7070" {
		t.Errorf("MOTHREADS_ADDRESS: %+v, %v", tg, err)
	}
	if tg, err := resolve(t, "--socket", "/s.sock"); err != nil || tg.Socket != "/s.sock" {
		t.Errorf("--socket over MOTHREADS_ADDRESS: %+v, %v", tg, err)
	}
	t.Setenv(EnvAddress, "")
	tok := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(tok, []byte("  0123456789abcdef \nrest"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tg, err := resolve(t, "--address", "a:1,b:2", "--token-file", tok); err != nil || len(tg.Options) != 2 {
		t.Errorf("address and token: %+v, %v", tg, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--socket", "/s", "--address", "a:1"}, "--socket and --address exclude each other"},
		{[]string{"--tls-ca", "/ca.pem"}, "--tls-ca applies to --address only"},
		{[]string{"--token-file", tok}, "--token-file applies to --address only"},
		{[]string{"--address", "a:1", "--daemon-uid", "3"}, "--daemon-uid applies to the Unix socket only"},
		{[]string{"--daemon-uid", "bob"}, `--daemon-uid "bob": want a numeric uid`},
		{[]string{"--address", "a:1", "--tls-cert", "/c.pem"}, "needs both its certificate and its key"},
		{[]string{"--address", "a:1", "--tls-ca", "/no/ca.pem"}, "TLS CA: open /no/ca.pem"},
		{[]string{"--address", "a:1", "--token-file", "/no/tok"}, "--token-file: open /no/tok"},
	} {
		if _, err := resolve(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
}
