package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/mothreads/mothreads/internal/sockpath"
	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/signals"
)

// Config is what Serve needs. The zero value serves on DefaultSocketPath
// with the pool's defaults, no TCP.
type Config struct {
	// Socket is the Unix socket to serve on; empty means DefaultSocketPath.
	// Its directory is created 0700 when missing and must otherwise be a
	// directory owned by the daemon's user that neither group nor others can
	// write; the socket is made 0600.
	Socket string

	// Listen is a TCP address ("127.0.0.1:7070") to serve on as well; empty
	// means no TCP. TCP requires client authentication: TLSClientCA (mutual
	// TLS) or TokenFile, or both. TLS without either is refused unless
	// InsecureNoClientAuth is set; a token without TLS is refused on any
	// address but a loopback one unless InsecureCleartextToken is set.
	Listen string
	// TLSCert and TLSKey are PEM files of the TCP listener's certificate and
	// key. TLSClientCA, when set, is a PEM bundle of the CAs that client
	// certificates must chain to; clients without one are then refused.
	// Trap: any certificate that chains to those CAs is accepted, whatever
	// its name: use a CA dedicated to the daemon's clients.
	TLSCert, TLSKey, TLSClientCA string
	// TokenFile holds the bearer token TCP clients must send
	// ("authorization: Bearer <token>"): its first line, without surrounding
	// white space, at least MinTokenBytes long. The file must not be
	// readable or writable by its group or others. It is read once, when
	// Serve starts.
	TokenFile string
	// InsecureNoClientAuth allows TCP with TLS but neither client
	// certificates nor a token: then anyone who can reach the port runs
	// commands as the daemon's user. TLS only hides the traffic. For a
	// listener that something else guards (a network policy, a proxy that
	// authenticates); never on a reachable network otherwise.
	InsecureNoClientAuth bool
	// InsecureCleartextToken allows a token without TLS on an address that
	// is not loopback: the token and all traffic then cross the network in
	// clear text, readable and replayable by anyone on the path.
	InsecureCleartextToken bool
	// MaxTCPConns bounds the TCP connections open at once (authenticated or
	// not); more are accepted and closed at once. Zero means
	// DefaultMaxTCPConns. The Unix socket has no such bound and is not
	// counted.
	MaxTCPConns int
	// TCPAuthTimeout is how long a TCP connection may take to complete its
	// handshake and its first authorised call (or its client-certificate
	// handshake): connections that have not by then are closed. Zero means
	// DefaultTCPAuthTimeout.
	TCPAuthTimeout time.Duration

	// HealthListen is a TCP address ("0.0.0.0:8081") that serves only
	// grpc.health.v1, in plain text and to anyone: the status says nothing
	// secret and runs nothing. It is for probes that cannot present a
	// client certificate or a token (Kubernetes' native gRPC probes). Empty
	// means none.
	HealthListen string

	// SocketListener, when set, is a listener on the Unix socket made by
	// someone else (socket activation: see ActivatedListeners). It is
	// served instead of creating Socket, which then only names it; the
	// daemon neither locks nor removes it. Peer credentials are checked as
	// usual.
	SocketListener *net.UnixListener
	// TCPListener, when set, is a socket-activated TCP listener served
	// instead of listening on Listen; Listen must name its address (the TCP
	// checks above apply to it).
	TCPListener net.Listener

	// Pool is the pool's policy. Its DrainTimeout and KillGrace also bound
	// the server's own drain at shutdown.
	Pool pool.Config

	// ExitIdle, when positive, stops the daemon once it has had no call in
	// flight and no call started for that long (auto-started daemons use
	// it). Zero means never.
	ExitIdle time.Duration

	// SkipDrain, when set, is a Signal whose firing does what Shutdown with
	// skip_drain does: the daemon stops if it was not stopping, every call
	// in flight is cancelled at once (each reports cancelled, "without
	// drain"), and the shutdown goes on in order within the skip-drain
	// deadline (two kill graces and a second for the handlers), the tree
	// not forced. cmd/mothreadsd fires it on a second SIGTERM or SIGINT
	// (threads.OnSecondSignal), so that only a third one forces the tree.
	SkipDrain *signals.Signal

	// RunOutputLimit is both the default and the maximum number of bytes the
	// unary Run buffers per output stream; a larger RunRequest.output_limit
	// is lowered to it. Zero means DefaultRunOutputLimit.
	//
	// Trap: a Run response holds up to twice this, and gRPC clients refuse
	// messages over their receive limit (4 MiB unless raised with
	// grpc.MaxCallRecvMsgSize), so a client that asks for large outputs must
	// raise its own limit too.
	RunOutputLimit int64

	// MaxBuffered is the daemon-wide ceiling, in bytes, on what it holds for
	// callers beyond the streams' flow control: Run output buffers and
	// responses a client has not read yet, and queued stdin_data. A call
	// that would go over it, or over a quarter of it for one connection, is
	// refused with ResourceExhausted (see budget.go). Zero means
	// DefaultMaxBuffered.
	MaxBuffered int64

	// MaxRequestBytes is the largest request message the daemon accepts
	// (gRPC's receive limit; larger ones fail with ResourceExhausted).
	// Zero means DefaultMaxRequestBytes.
	MaxRequestBytes int

	// Version is reported by Status.
	Version string

	// Logger, when set, is used for the daemon's own messages instead of
	// the thread tree's logger; either way every message carries a
	// "thread" attribute with the path of the thread that logs it.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultRunOutputLimit  = 16 << 20
	DefaultMaxRequestBytes = 8 << 20
	DefaultMaxBuffered     = 256 << 20
	DefaultMaxTCPConns     = 256
	DefaultTCPAuthTimeout  = 5 * time.Second
	// MinTokenBytes is the shortest bearer token TokenFile may hold.
	MinTokenBytes = 16
)

// DefaultSocketPath is the daemon's socket when Config.Socket is empty:
// $MOTHREADS_SOCKET when set and not empty, else
// $XDG_RUNTIME_DIR/mothreads/mothreads.sock when XDG_RUNTIME_DIR is set,
// else /tmp/mothreads-<uid>/mothreads.sock (the literal /tmp, not $TMPDIR, so
// that a daemon and a client with different TMPDIRs still meet). On Windows
// the last step is os.TempDir()\mothreads\mothreads.sock.
//
// It reads the environment on every call; the client uses the same rule
// (both are internal/sockpath's Default).
func DefaultSocketPath() string { return sockpath.Default() }

// Validate checks c as Serve would before it starts anything, reading the
// TLS and token files, and returns the first problem as a *ConfigError.
func (c Config) Validate() error {
	c, err := c.normalized()
	if err != nil {
		return err
	}
	_, err = loadTCPAccess(c)
	return err
}

// normalized returns c with defaults applied, or a *ConfigError naming the
// first invalid setting.
func (c Config) normalized() (Config, error) {
	switch {
	case c.ExitIdle < 0:
		return c, configErr("ExitIdle", "negative duration %v", c.ExitIdle)
	case c.RunOutputLimit < 0:
		return c, configErr("RunOutputLimit", "negative value %d", c.RunOutputLimit)
	case c.MaxRequestBytes < 0:
		return c, configErr("MaxRequestBytes", "negative value %d", c.MaxRequestBytes)
	case c.MaxBuffered < 0:
		return c, configErr("MaxBuffered", "negative value %d", c.MaxBuffered)
	case c.MaxTCPConns < 0:
		return c, configErr("MaxTCPConns", "negative value %d", c.MaxTCPConns)
	case c.TCPAuthTimeout < 0:
		return c, configErr("TCPAuthTimeout", "negative duration %v", c.TCPAuthTimeout)
	case c.Pool.DrainTimeout < 0:
		return c, configErr("Pool.DrainTimeout", "negative duration %v", c.Pool.DrainTimeout)
	case c.Pool.KillGrace < 0:
		return c, configErr("Pool.KillGrace", "negative duration %v", c.Pool.KillGrace)
	}
	if c.TCPListener != nil && c.Listen == "" {
		return c, configErr("TCPListener", "needs Listen set to its address, so that the TCP checks apply")
	}
	if c.Socket == "" && c.SocketListener != nil {
		c.Socket = c.SocketListener.Addr().String()
	}
	if c.Socket == "" {
		c.Socket = DefaultSocketPath()
	}
	abs, err := filepath.Abs(c.Socket)
	if err != nil {
		return c, &ConfigError{Field: "Socket", Problem: fmt.Sprintf("%q", c.Socket), Err: err}
	}
	c.Socket = abs
	if c.RunOutputLimit == 0 {
		c.RunOutputLimit = DefaultRunOutputLimit
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxBuffered == 0 {
		c.MaxBuffered = DefaultMaxBuffered
	}
	if c.MaxTCPConns == 0 {
		c.MaxTCPConns = DefaultMaxTCPConns
	}
	if c.TCPAuthTimeout == 0 {
		c.TCPAuthTimeout = DefaultTCPAuthTimeout
	}
	return c, c.checkTCP()
}

// checkTCP checks that the TCP settings make sense together and
// authenticate clients (H3 of the 2026-11-30 security report).
func (c Config) checkTCP() error {
	if c.Listen == "" {
		for _, s := range []struct {
			field string
			set   bool
		}{
			{"TLSCert", c.TLSCert != ""}, {"TLSKey", c.TLSKey != ""}, {"TLSClientCA", c.TLSClientCA != ""},
			{"TokenFile", c.TokenFile != ""}, {"InsecureNoClientAuth", c.InsecureNoClientAuth},
			{"InsecureCleartextToken", c.InsecureCleartextToken},
		} {
			if s.set {
				return configErr(s.field, "applies to the TCP listener only, and Listen is empty")
			}
		}
		return nil
	}
	tls := c.TLSCert != ""
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		return configErr("TLSCert", "needs TLSKey too")
	case c.TLSKey != "" && c.TLSCert == "":
		return configErr("TLSKey", "needs TLSCert too")
	case c.TLSClientCA != "" && !tls:
		return configErr("TLSClientCA", "needs TLS (TLSCert and TLSKey)")
	case c.InsecureNoClientAuth && !tls:
		return configErr("InsecureNoClientAuth", "needs TLS (TLSCert and TLSKey); without TLS and without client authentication anyone could run commands")
	case c.TLSClientCA == "" && c.TokenFile == "" && !c.InsecureNoClientAuth:
		if tls {
			return configErr("Listen", "refusing TCP on %s with TLS but no client authentication: TLS hides the traffic but lets anyone who reaches the port run commands; add TLSClientCA (mutual TLS) or TokenFile, or set InsecureNoClientAuth", c.Listen)
		}
		return configErr("Listen", "refusing TCP on %s without client authentication: add TLSClientCA (mutual TLS, with TLSCert and TLSKey) or TokenFile", c.Listen)
	case c.TokenFile != "" && !tls && !c.InsecureCleartextToken && !loopback(c.Listen):
		return configErr("Listen", "refusing a token without TLS on %s, which is not a loopback address: the token would cross the network in clear text; add TLSCert and TLSKey, listen on 127.0.0.1, or set InsecureCleartextToken", c.Listen)
	}
	return nil
}

// loopback reports whether the listen address addr is a loopback one only
// ("127.0.0.1:7070", "[::1]:7070", "localhost:7070"); an empty host means
// every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// drainDeadline is how long the server lets calls finish at shutdown before
// it closes every connection: the pool's drain timeout, then the kill grace
// of the calls the pool cancels and of their leftovers, and a margin for
// their last events to reach the clients. The pool cancels what is left at
// its own drain timeout, so the server's deadline only cuts streams whose
// clients stopped reading. After a Shutdown with skip_drain the calls are
// cancelled at once, and the drain timeout drops out.
func (c Config) drainDeadline(skipDrain bool) time.Duration {
	drain, grace := c.Pool.DrainTimeout, c.Pool.KillGrace
	if drain == 0 {
		drain = pool.DefaultDrainTimeout
	}
	if grace == 0 {
		grace = pool.DefaultKillGrace
	}
	if skipDrain {
		drain = 0
	}
	return drain + 2*grace + time.Second
}

// stopDeadline bounds the whole shutdown, from the stop request until the
// pool has stopped: the server's drain deadline, then time for handlers cut
// by the hard stop and for the pool to stop its sessions.
func (c Config) stopDeadline() time.Duration {
	return c.drainDeadline(false) + c.drainDeadline(true) + 5*time.Second
}
