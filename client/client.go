package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Client is a connection to a mothreads daemon. It is safe for concurrent
// use; share one Client between goroutines rather than dialling per call.
type Client struct {
	conn   *grpc.ClientConn
	rpc    pb.MothreadsClient
	target string // socket path or TCP address, for error messages
	trust  *trust // the socket dialer's refusals; nil over TCP
	fleet  *fleet // TCP only: the sticky channel and sessions' daemons

	closeOnce sync.Once
	closeErr  error
}

// Option configures Dial.
type Option func(*options)

type options struct {
	socket    string
	address   string
	tls       *tls.Config
	tlsSet    bool
	token     string
	dialOpts  []grpc.DialOption
	socketSet bool
	daemonUID *int
	err       error // an option that failed
}

// WithSocket makes Dial use the Unix socket at path instead of
// DefaultSocketPath. It is an error together with WithAddress.
func WithSocket(path string) Option {
	return func(o *options) { o.socket, o.socketSet = path, true }
}

// WithAddress makes Dial connect over TCP to addr instead of a Unix socket:
// "host:port", a comma-separated list "host1:port,host2:port" (see
// WithTargets), or any gRPC target such as "dns:///name:port", whose every
// address (a Kubernetes headless Service gives one per pod) becomes a
// daemon of the fleet. Isolated calls are spread round-robin over the
// daemons whose health is SERVING; sticky calls go by a hash of the
// session name (see ErrSessionLost). The daemons require client
// authentication over TCP: add WithTLS (with a client certificate) or
// WithToken, or both.
func WithAddress(addr string) Option {
	return func(o *options) { o.address = addr }
}

// WithTLS secures the connection with cfg; nil means the defaults (the
// system's roots, the server name from the address). For mutual TLS, put
// the client certificate in cfg.Certificates. Without WithTLS a TCP
// connection is plain text.
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) { o.tls, o.tlsSet = cfg, true }
}

// WithToken sends "authorization: Bearer <token>" with every call. The token
// is sent even on a plain-text TCP connection, where anyone on the path can
// read it: use it with WithTLS unless the network is trusted.
func WithToken(token string) Option {
	return func(o *options) { o.token = token }
}

// WithDaemonUID makes Dial trust a daemon on the Unix socket that runs as
// uid, instead of one that runs as the caller's own effective uid (the
// default). Before every connection, and before anything is sent on it, the
// client checks that the socket is owned by that uid, that every directory
// from / down to the socket's is owned by that uid or root and not writable
// by others (unless sticky; the socket's own directory not at all), and that
// the process listening on it runs as that uid (SO_PEERCRED). A call to a
// socket that fails fails with a *TrustError (errors.Is(err, ErrUntrusted))
// and nothing of it is sent.
//
// Root needs this option to use another user's daemon: by default a root
// client talks to root's daemons only, so that a user cannot collect
// root's commands and environment with a daemon of their own. It has no
// effect over TCP, where TLS and tokens authenticate the daemon.
func WithDaemonUID(uid int) Option {
	return func(o *options) { o.daemonUID = &uid }
}

// WithDialOptions adds raw gRPC dial options after the ones Dial sets (for
// interceptors, keepalive, a custom dialer, ...).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOpts = append(o.dialOpts, opts...) }
}

// Dial returns a Client for the daemon at DefaultSocketPath, or wherever the
// options say. It does not wait for the daemon: gRPC connects on the first
// call, and that call fails with an error matching ErrUnavailable when no
// daemon answers. After a failed connection attempt the client retries with
// a backoff of 100 ms growing to 3 s, and calls made meanwhile fail at once.
// Dial returns an error only for invalid options or a context already done.
// Close the Client when done.
func Dial(ctx context.Context, opts ...Option) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mothreads: dial: %w", err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.err != nil {
		return nil, o.err
	}
	if o.socketSet && o.address != "" {
		return nil, errors.New("mothreads: dial: WithSocket and WithAddress exclude each other")
	}
	var target, shown string
	var dialOpts []grpc.DialOption
	var tr *trust
	var fl *fleet
	if o.address != "" {
		t, extra, err := tcpTarget(o.address)
		if err != nil {
			return nil, err
		}
		target, shown, dialOpts = t, o.address, extra
		fl = &fleet{target: t, sessions: map[string]string{}}
	} else {
		shown = o.socket
		if !o.socketSet || shown == "" {
			shown = DefaultSocketPath()
		}
		abs, err := filepath.Abs(shown)
		if err != nil {
			return nil, fmt.Errorf("mothreads: socket path %q: %w", shown, err)
		}
		uid := os.Geteuid()
		if o.daemonUID != nil {
			uid = *o.daemonUID
		}
		tr = new(trust)
		target, dialOpts = unixTarget(abs, uid, tr)
		shown = abs
	}
	creds := insecure.NewCredentials()
	if o.tlsSet {
		creds = credentials.NewTLS(o.tls)
	}
	dialOpts = append(dialOpts,
		grpc.WithTransportCredentials(creds),
		// A Run response carries up to two buffered streams (the daemon
		// caps each at 16 MiB by default); gRPC's own default is 4 MiB.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxResponseBytes)),
		// Static windows: see streamWindowBytes.
		grpc.WithStaticStreamWindowSize(streamWindowBytes),
		grpc.WithStaticConnWindowSize(connWindowBytes),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second},
			MinConnectTimeout: 20 * time.Second,
		}))
	if o.token != "" {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearer(o.token)))
	}
	dialOpts = append(dialOpts, o.dialOpts...)
	if fl != nil {
		fl.opts = dialOpts
		dialOpts = append(dialOpts[:len(dialOpts):len(dialOpts)], grpc.WithDefaultServiceConfig(fleetServiceConfig))
	}
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("mothreads: dial %s: %w", shown, err)
	}
	return &Client{conn: conn, rpc: pb.NewMothreadsClient(conn), target: shown, trust: tr, fleet: fl}, nil
}

// streamWindowBytes and connWindowBytes are the HTTP/2 flow-control windows
// of what the client receives (output, responses). They are static, so that
// gRPC does not estimate the bandwidth: its estimator sends a PING, with a
// WINDOW_UPDATE, on most messages received, and the daemon answers each one,
// which costs every call extra frames, writes and wake-ups at both ends (on
// a Unix socket the estimate gains nothing). The stream window is how much
// output of one call may wait in this process for a reader that does not
// read (then the daemon stops reading the command's pipe), so it is gRPC's
// smallest, 64 KiB, a pipe's worth: a command whose caller's reader went
// away must meet the closed pipe (EPIPE, SIGPIPE) about where it would
// under bash -c, not after a megabyte that nobody reads (`seq 100000 |`
// into `head -c 10` ends seq with 141 under bash -c; a 1 MiB window let it
// finish with 0). The connection's window lets several calls stream at once.
const (
	streamWindowBytes = 64 << 10
	connWindowBytes   = 1 << 20
)

// maxResponseBytes bounds one response message: two Run output buffers at
// the daemon's largest default, and room for the rest.
const maxResponseBytes = 2*16<<20 + 1<<20

// Close closes the connection; calls in flight fail. Calling it again
// returns the first call's result.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if err := errors.Join(c.conn.Close(), c.closeFleet()); err != nil {
			c.closeErr = fmt.Errorf("mothreads: close %s: %w", c.target, err)
		}
	})
	return c.closeErr
}

// bearer is per-RPC credentials that send a bearer token.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity is false: the daemon allows a token without TLS
// (see WithToken for the risk).
func (b bearer) RequireTransportSecurity() bool { return false }

// Status returns the daemon's pool and call figures.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	resp, err := c.rpc.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return nil, c.convertErr(ctx, "status", err)
	}
	return statusFromProto(resp), nil
}

// Shutdown asks the daemon for an ordered shutdown: it stops accepting
// calls, lets the calls in flight finish until its drain deadline (or
// cancels them at once when skipDrain), stops its sessions and exits.
// Shutdown returns once the shutdown has begun, not when it has finished.
func (c *Client) Shutdown(ctx context.Context, skipDrain bool) error {
	_, err := c.rpc.Shutdown(ctx, &pb.ShutdownRequest{SkipDrain: skipDrain})
	return c.convertErr(ctx, "shutdown", err)
}

// The shared client that a Cmd without a Client uses.
var shared struct {
	mu sync.Mutex
	c  *Client
}

// defaultClient returns the shared client, dialling DefaultSocketPath on
// first use.
func defaultClient(ctx context.Context) (*Client, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.c == nil {
		c, err := Dial(ctx)
		if err != nil {
			return nil, err
		}
		shared.c = c
	}
	return shared.c, nil
}

// CloseDefault closes the shared Client that every Cmd whose Client is nil
// uses (it is dialled on the first such Cmd, at DefaultSocketPath as it is
// then, and kept open so later commands reuse the connection). Call it before
// a goroutine-leak check or to follow a changed MOTHREADS_SOCKET; the next
// such Cmd dials again. Commands still running on it fail.
func CloseDefault() error {
	shared.mu.Lock()
	c := shared.c
	shared.c = nil
	shared.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Close()
}
