package daemon

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// The access model (C12). One grpc.Server serves both listeners; its
// transport credentials (transportCreds) tell the connections apart during
// the handshake and record who is on the other end in the connection's
// AuthInfo: a peerCred for the Unix socket, a tcpAuth for TCP. The
// interceptors then check that record on every RPC (authorize), so a
// refused peer gets PermissionDenied or Unauthenticated from every method,
// health and reflection included, and every refusal is logged.

// peerCred is the AuthInfo of a Unix socket connection: the peer's process,
// user and group as the kernel reported them when it connected
// (SO_PEERCRED).
type peerCred struct {
	credentials.CommonAuthInfo
	PID, UID, GID int
	// Known is false where the platform has no peer credentials (the
	// socket's file permissions are then the only check); Err is set when
	// reading them failed, and the peer is refused.
	Known bool
	Err   error
}

// AuthType implements credentials.AuthInfo.
func (peerCred) AuthType() string { return "peercred" }

// tcpAuth is the AuthInfo of a TCP connection; TLS is nil without TLS.
// gate is the connection's place in the listener's bound (nil for a
// listener without one), which an authorised call marks.
type tcpAuth struct {
	credentials.CommonAuthInfo
	TLS  *credentials.TLSInfo
	gate *gateConn
}

// AuthType implements credentials.AuthInfo.
func (a tcpAuth) AuthType() string {
	if a.TLS != nil {
		return "tls"
	}
	return "insecure"
}

// transportCreds is the server's credentials.TransportCredentials: a Unix
// connection gets its peer credentials recorded; a TCP connection gets a
// TLS handshake when the daemon has TLS, and nothing otherwise (a token is
// then required: Config.normalized makes sure one of the two is set).
//
// When the handshake itself authenticates the client (mutual TLS without a
// token) or nothing can (InsecureNoClientAuth), the connection counts as
// authorised once the handshake is done; with a token, once a call with the
// right token came (see authorize).
type transportCreds struct {
	tls             credentials.TransportCredentials // nil: TCP without TLS
	authAtHandshake bool
	refusals        *rateLog
}

func (c *transportCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if uc, ok := conn.(*net.UnixConn); ok {
		return conn, peerCredOf(uc), nil
	}
	gate := gateOf(conn)
	if c.tls == nil {
		return conn, tcpAuth{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}, gate: gate}, nil
	}
	tconn, info, err := c.tls.ServerHandshake(conn)
	if err != nil {
		c.refusals.warn("refused a TCP connection: TLS handshake failed", "peer", conn.RemoteAddr().String(), "err", err)
		return nil, nil, err
	}
	ti, ok := info.(credentials.TLSInfo)
	if !ok {
		tconn.Close()
		return nil, nil, fmt.Errorf("unexpected TLS auth info %T", info)
	}
	if c.authAtHandshake && gate != nil {
		gate.authorise()
	}
	return tconn, tcpAuth{CommonAuthInfo: ti.CommonAuthInfo, TLS: &ti, gate: gate}, nil
}

func (c *transportCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("mothreadsd: server-side credentials only")
}

func (c *transportCreds) Info() credentials.ProtocolInfo {
	if c.tls != nil {
		return c.tls.Info()
	}
	return credentials.ProtocolInfo{SecurityProtocol: "insecure"}
}

func (c *transportCreds) Clone() credentials.TransportCredentials {
	cc := *c
	if c.tls != nil {
		cc.tls = c.tls.Clone()
	}
	return &cc
}

// OverrideServerName is a client-side setting: a no-op here.
func (c *transportCreds) OverrideServerName(string) error { return nil }

// tcpAccess is what TCP clients must show: a TLS config (nil: no TLS) and
// the SHA-256 of the bearer token (nil: no token).
type tcpAccess struct {
	tls   *tls.Config
	token []byte
}

// loadTCPAccess reads the TLS files and the token file of cfg (normalized).
// Its errors are *ConfigError.
func loadTCPAccess(cfg Config) (tcpAccess, error) {
	var a tcpAccess
	if cfg.Listen == "" {
		return a, nil
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return a, &ConfigError{Field: "TLSCert", Problem: "loading the certificate and key", Err: err}
		}
		a.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if cfg.TLSClientCA != "" {
			pem, err := os.ReadFile(cfg.TLSClientCA)
			if err != nil {
				return a, &ConfigError{Field: "TLSClientCA", Problem: "reading the client CA", Err: err}
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return a, configErr("TLSClientCA", "%s holds no PEM certificate", cfg.TLSClientCA)
			}
			a.tls.ClientCAs = roots
			a.tls.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	if cfg.TokenFile != "" {
		tok, err := readToken(cfg.TokenFile)
		if err != nil {
			return a, err
		}
		sum := sha256.Sum256([]byte(tok))
		a.token = sum[:]
	}
	return a, nil
}

// readToken returns the first line of path without surrounding white space,
// after checking that only its owner may read or write the file and that
// the token is at least MinTokenBytes long.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", &ConfigError{Field: "TokenFile", Problem: "reading the token", Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", &ConfigError{Field: "TokenFile", Problem: "reading the token", Err: err}
	}
	if !fi.Mode().IsRegular() {
		return "", configErr("TokenFile", "%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", configErr("TokenFile", "%s is readable or writable by its group or others (mode %#o); make it 0600", path, perm)
	}
	sc := bufio.NewScanner(f)
	sc.Scan()
	if err := sc.Err(); err != nil {
		return "", &ConfigError{Field: "TokenFile", Problem: "reading " + path, Err: err}
	}
	tok := strings.TrimSpace(sc.Text())
	switch {
	case tok == "":
		return "", configErr("TokenFile", "the first line of %s is empty", path)
	case len(tok) < MinTokenBytes:
		return "", configErr("TokenFile", "the token in %s is %d bytes; use at least %d (for example: head -c 32 /dev/urandom | base64)", path, len(tok), MinTokenBytes)
	}
	return tok, nil
}

// authorize checks the caller of method, and logs (rate-limited) and
// returns a refusal.
func (d *daemon) authorize(ctx context.Context, method string) error {
	p, ok := peer.FromContext(ctx)
	if !ok {
		d.refusals.warn("refused a call: no peer information", "method", method)
		return status.Error(codes.PermissionDenied, "no peer information")
	}
	switch ai := p.AuthInfo.(type) {
	case peerCred:
		switch {
		case ai.Err != nil:
			d.refusals.warn("refused a call: cannot read the peer's credentials", "method", method, "err", ai.Err)
			return status.Error(codes.PermissionDenied, "the daemon cannot read the caller's credentials")
		case !ai.Known, ai.UID == 0, ai.UID == d.uid:
			return nil
		}
		d.refusals.warn("refused a call from another user", "method", method, "pid", ai.PID, "uid", ai.UID, "gid", ai.GID)
		return status.Errorf(codes.PermissionDenied, "uid %d may not call this daemon (it serves uid %d and root)", ai.UID, d.uid)
	case tcpAuth:
		if d.access.token == nil {
			return nil // authenticated by its certificate, or InsecureNoClientAuth
		}
		host := peerHost(p.Addr)
		health := strings.HasPrefix(method, healthPrefix)
		if blocked, wait := d.tokenFailures.blocked(host); blocked && !health {
			d.refusals.warn("refused a TCP call: too many failed tokens from this address", "method", method, "peer", p.Addr.String())
			return status.Errorf(codes.ResourceExhausted, "too many failed authentications from %s; retry in %v", host, wait.Round(time.Millisecond))
		}
		problem := checkToken(ctx, d.access.token)
		if problem == "" {
			if ai.gate != nil {
				ai.gate.authorise()
			}
			return nil
		}
		if health {
			// The serving status is no secret, and clients' load balancers
			// must read it to tell a daemon's refusal from its absence; a
			// connection that only does this is still closed when its time
			// to authenticate is up.
			return nil
		}
		d.tokenFailures.failed(host)
		d.refusals.warn("refused a TCP call: "+problem, "method", method, "peer", p.Addr.String())
		return status.Error(codes.Unauthenticated, problem)
	}
	d.refusals.warn("refused a call: unknown transport", "method", method, "peer", fmt.Sprint(p.Addr))
	return status.Error(codes.PermissionDenied, "unknown transport")
}

// healthPrefix starts the methods of grpc.health.v1, which TCP clients may
// call without a token.
const healthPrefix = "/grpc.health.v1.Health/"

// peerHost is the address of a TCP peer without its port.
func peerHost(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// checkToken compares the call's bearer token with want (a SHA-256) in
// constant time, and says what is wrong, or "".
func checkToken(ctx context.Context, want []byte) string {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return "missing bearer token"
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "the authorization is not a bearer token"
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	if subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return "invalid bearer token"
	}
	return ""
}
