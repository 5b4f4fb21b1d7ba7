package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/mothreads/mothreads/pool"
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
	// means no TCP. TCP needs TLS (TLSCert and TLSKey) or a token
	// (TokenFile), or both: Serve refuses to start TCP with neither.
	Listen string
	// TLSCert and TLSKey are PEM files of the TCP listener's certificate and
	// key. TLSClientCA, when set, is a PEM bundle of the CAs that client
	// certificates must chain to; clients without one are then refused.
	TLSCert, TLSKey, TLSClientCA string
	// TokenFile holds the bearer token TCP clients must send
	// ("authorization: Bearer <token>"): its first line, without surrounding
	// white space. It is read once, when Serve starts.
	TokenFile string

	// Pool is the pool's policy. Its DrainTimeout and KillGrace also bound
	// the server's own drain at shutdown.
	Pool pool.Config

	// ExitIdle, when positive, stops the daemon once it has had no call in
	// flight and no call started for that long (auto-started daemons use
	// it). Zero means never.
	ExitIdle time.Duration

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
)

// DefaultSocketPath is the daemon's socket when Config.Socket is empty:
// $MOTHREADS_SOCKET when set and not empty, else
// $XDG_RUNTIME_DIR/mothreads/mothreads.sock when XDG_RUNTIME_DIR is set,
// else /tmp/mothreads-<uid>/mothreads.sock (the literal /tmp, not $TMPDIR, so
// that a daemon and a client with different TMPDIRs still meet). On Windows
// the last step is os.TempDir()\mothreads\mothreads.sock.
//
// It reads the environment on every call. It is a copy of
// client.DefaultSocketPath (the daemon may not import the client);
// TestDefaultSocketPathMatchesClient keeps the two identical.
func DefaultSocketPath() string {
	if p := os.Getenv("MOTHREADS_SOCKET"); p != "" {
		return p
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "mothreads", "mothreads.sock")
	}
	if runtime.GOOS == "windows" {
		return filepath.Join(os.TempDir(), "mothreads", "mothreads.sock")
	}
	return filepath.Join("/tmp", fmt.Sprintf("mothreads-%d", os.Getuid()), "mothreads.sock")
}

// normalized returns c with defaults applied, or an error naming the first
// invalid setting.
func (c Config) normalized() (Config, error) {
	switch {
	case c.ExitIdle < 0:
		return c, fmt.Errorf("daemon config exit_idle: negative duration %v", c.ExitIdle)
	case c.RunOutputLimit < 0:
		return c, fmt.Errorf("daemon config run_output_limit: negative value %d", c.RunOutputLimit)
	case c.MaxRequestBytes < 0:
		return c, fmt.Errorf("daemon config max_request_bytes: negative value %d", c.MaxRequestBytes)
	case c.MaxBuffered < 0:
		return c, fmt.Errorf("daemon config max_buffered: negative value %d", c.MaxBuffered)
	case c.Pool.DrainTimeout < 0 || c.Pool.KillGrace < 0:
		return c, errors.New("daemon config: negative pool drain timeout or kill grace")
	}
	if c.Socket == "" {
		c.Socket = DefaultSocketPath()
	}
	abs, err := filepath.Abs(c.Socket)
	if err != nil {
		return c, fmt.Errorf("daemon config socket %q: %w", c.Socket, err)
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
	if c.Listen == "" {
		if c.TLSCert != "" || c.TLSKey != "" || c.TLSClientCA != "" || c.TokenFile != "" {
			return c, errors.New("daemon config: TLS or token settings without a TCP listen address")
		}
		return c, nil
	}
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return c, errors.New("daemon config: TLS needs both a certificate and a key")
	case c.TLSClientCA != "" && c.TLSCert == "":
		return c, errors.New("daemon config: a client CA needs TLS (a certificate and a key)")
	case c.TLSCert == "" && c.TokenFile == "":
		return c, fmt.Errorf("daemon config: refusing to listen on TCP %s without TLS or a token", c.Listen)
	}
	return c, nil
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
