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
	"log/slog"
	"net"
	"os"
	"strings"

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
type tcpAuth struct {
	credentials.CommonAuthInfo
	TLS *credentials.TLSInfo
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
type transportCreds struct {
	tls credentials.TransportCredentials // nil: TCP without TLS
	log *slog.Logger
}

func (c *transportCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if uc, ok := conn.(*net.UnixConn); ok {
		return conn, peerCredOf(uc), nil
	}
	if c.tls == nil {
		return conn, tcpAuth{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}, nil
	}
	tconn, info, err := c.tls.ServerHandshake(conn)
	if err != nil {
		c.log.Warn("refused a TCP connection: TLS handshake failed", "peer", conn.RemoteAddr().String(), "err", err)
		return nil, nil, err
	}
	ti, ok := info.(credentials.TLSInfo)
	if !ok {
		tconn.Close()
		return nil, nil, fmt.Errorf("unexpected TLS auth info %T", info)
	}
	return tconn, tcpAuth{CommonAuthInfo: ti.CommonAuthInfo, TLS: &ti}, nil
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

// loadTCPAccess reads the TLS files and the token file of cfg.
func loadTCPAccess(cfg Config) (tcpAccess, error) {
	var a tcpAccess
	if cfg.Listen == "" {
		return a, nil
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return a, fmt.Errorf("daemon: loading the TLS certificate: %w", err)
		}
		a.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if cfg.TLSClientCA != "" {
			pem, err := os.ReadFile(cfg.TLSClientCA)
			if err != nil {
				return a, fmt.Errorf("daemon: reading the TLS client CA: %w", err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return a, fmt.Errorf("daemon: TLS client CA %s: no PEM certificate in it", cfg.TLSClientCA)
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

// readToken returns the first line of path without surrounding white space.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("daemon: reading the token file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("daemon: reading the token file %s: %w", path, err)
	}
	tok := strings.TrimSpace(sc.Text())
	if tok == "" {
		return "", fmt.Errorf("daemon: token file %s: the first line is empty", path)
	}
	return tok, nil
}

// authorize checks the caller of method, and logs and returns a refusal.
func (d *daemon) authorize(ctx context.Context, method string) error {
	p, ok := peer.FromContext(ctx)
	if !ok {
		d.log.Warn("refused a call: no peer information", "method", method)
		return status.Error(codes.PermissionDenied, "no peer information")
	}
	switch ai := p.AuthInfo.(type) {
	case peerCred:
		switch {
		case ai.Err != nil:
			d.log.Warn("refused a call: cannot read the peer's credentials", "method", method, "err", ai.Err)
			return status.Error(codes.PermissionDenied, "the daemon cannot read the caller's credentials")
		case !ai.Known, ai.UID == 0, ai.UID == d.uid:
			return nil
		}
		d.log.Warn("refused a call from another user", "method", method, "pid", ai.PID, "uid", ai.UID, "gid", ai.GID)
		return status.Errorf(codes.PermissionDenied, "uid %d may not call this daemon (it serves uid %d and root)", ai.UID, d.uid)
	case tcpAuth:
		if d.access.token == nil {
			return nil
		}
		problem := checkToken(ctx, d.access.token)
		if problem == "" {
			return nil
		}
		d.log.Warn("refused a TCP call: "+problem, "method", method, "peer", p.Addr.String())
		return status.Error(codes.Unauthenticated, problem)
	}
	d.log.Warn("refused a call: unknown transport", "method", method, "peer", fmt.Sprint(p.Addr))
	return status.Error(codes.PermissionDenied, "unknown transport")
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
