// Package target is how the mothreads CLI picks its daemon: the flags every
// subcommand shares (--socket, --daemon-uid, --address and the client's TLS
// and token files) and their variables, resolved into the client options
// that reach the daemon.
package target

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/internal/sockpath"
	"github.com/spf13/pflag"
)

// Flags are the shared flags as given; the zero value is usable (defaults).
type Flags struct {
	socket, address                   string
	daemonUID                         string
	tlsCert, tlsKey, tlsCA, tokenFile string
}

// Variables of the flags, read when the flag is not given. The TLS and
// token variables are named MOTHREADS_CLIENT_* so that they never reach an
// auto-started daemon as its own --tls-cert or --token-file.
const (
	EnvSocket    = "MOTHREADS_SOCKET"
	EnvAddress   = "MOTHREADS_ADDRESS"
	EnvDaemonUID = "MOTHREADS_DAEMON_UID"
	EnvTLSCert   = "MOTHREADS_CLIENT_TLS_CERT"
	EnvTLSKey    = "MOTHREADS_CLIENT_TLS_KEY"
	EnvTLSCA     = "MOTHREADS_CLIENT_TLS_CA"
	EnvTokenFile = "MOTHREADS_CLIENT_TOKEN_FILE"
)

// Define defines the flags on fs (the root command's persistent flags).
func (f *Flags) Define(fs *pflag.FlagSet) {
	fs.StringVar(&f.socket, "socket", "", "daemon socket (env "+EnvSocket+"; default $XDG_RUNTIME_DIR/mothreads/mothreads.sock, else /tmp/mothreads-<uid>/mothreads.sock)")
	fs.StringVar(&f.daemonUID, "daemon-uid", "", "trust a daemon on the socket that runs as this uid (default: your own; root needs it to use another user's daemon) (env "+EnvDaemonUID+")")
	fs.StringVar(&f.address, "address", "", "reach daemons over TCP instead: host:port, a list host1:port,host2:port, or a gRPC target such as dns:///name:port (env "+EnvAddress+")")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "with --address: PEM client certificate for mutual TLS (env "+EnvTLSCert+")")
	fs.StringVar(&f.tlsKey, "tls-key", "", "with --address: PEM key of --tls-cert (env "+EnvTLSKey+")")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "with --address: PEM bundle of the CAs the daemons' certificates must chain to; turns TLS on (env "+EnvTLSCA+")")
	fs.StringVar(&f.tokenFile, "token-file", "", "with --address: file whose first line is the bearer token to send (env "+EnvTokenFile+")")
}

// Target is a resolved daemon.
type Target struct {
	// Socket is the daemon's socket, absolute; empty with an address.
	Socket string
	// Address is the TCP target; empty with a socket.
	Address string
	// Options reach the daemon with client.Dial.
	Options []client.Option
}

// String is the socket or the address, for messages.
func (t Target) String() string {
	if t.Address != "" {
		return t.Address
	}
	return t.Socket
}

// value is the flag's value, else its variable's.
func value(flag, env string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(env)
}

// Resolve returns the target the flags and variables name. An explicit
// --socket wins over MOTHREADS_ADDRESS; both flags at once are an error, as
// are TLS or token settings without an address and --daemon-uid with one.
func (f *Flags) Resolve() (Target, error) {
	if f.socket != "" && f.address != "" {
		return Target{}, fmt.Errorf("--socket and --address exclude each other")
	}
	address := f.address
	if f.socket == "" {
		address = value(f.address, EnvAddress)
	}
	uid := value(f.daemonUID, EnvDaemonUID)
	cert, key, ca, tok := value(f.tlsCert, EnvTLSCert), value(f.tlsKey, EnvTLSKey), value(f.tlsCA, EnvTLSCA), value(f.tokenFile, EnvTokenFile)
	if address == "" {
		for _, s := range []struct{ name, v string }{{"tls-cert", cert}, {"tls-key", key}, {"tls-ca", ca}, {"token-file", tok}} {
			if s.v != "" {
				return Target{}, fmt.Errorf("--%s applies to --address only (the socket needs no TLS or token)", s.name)
			}
		}
		return f.socketTarget(uid)
	}
	if uid != "" {
		return Target{}, fmt.Errorf("--daemon-uid applies to the Unix socket only; over --address TLS authenticates the daemons")
	}
	t := Target{Address: address, Options: []client.Option{client.WithAddress(address)}}
	if cert != "" || key != "" || ca != "" {
		cfg, err := client.LoadTLS(cert, key, ca)
		if err != nil {
			return Target{}, err
		}
		t.Options = append(t.Options, client.WithTLS(cfg))
	}
	if tok != "" {
		token, err := readToken(tok)
		if err != nil {
			return Target{}, err
		}
		t.Options = append(t.Options, client.WithToken(token))
	}
	return t, nil
}

func (f *Flags) socketTarget(uid string) (Target, error) {
	p := f.socket
	if p == "" {
		p = sockpath.Default()
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return Target{}, fmt.Errorf("socket %q: %w", p, err)
	}
	t := Target{Socket: abs, Options: []client.Option{client.WithSocket(abs)}}
	if uid != "" {
		n, err := strconv.Atoi(uid)
		if err != nil || n < 0 {
			return Target{}, fmt.Errorf("--daemon-uid %q: want a numeric uid", uid)
		}
		t.Options = append(t.Options, client.WithDaemonUID(n))
	}
	return t, nil
}

// readToken returns the first line of path, trimmed.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if tok := strings.TrimSpace(line); tok != "" {
		return tok, nil
	}
	return "", fmt.Errorf("--token-file %s: the first line is empty", path)
}
