package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/balancer/ringhash" // registers ring_hash_experimental
	_ "google.golang.org/grpc/health"            // registers the client side of healthCheckConfig
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// Calls to many daemons go through gRPC's own machinery: its resolvers
// (dns:///, or a static list through a manual resolver), round_robin with
// client-side health checking (grpc.health.v1, which a daemon reports
// SERVING only when warm and not draining) for isolated calls, and
// ring_hash on the session name for sticky calls, so that every call of a
// sticky session reaches the daemon that holds it. A sticky session
// remembers the daemon instance it was created on; a call that would land
// on another instance is refused by that daemon and fails with
// ErrSessionLost, instead of starting an empty session of the same name.

// Metadata keys shared with the daemon (daemon.HeaderDaemon and friends).
const (
	headerDaemon        = "mothreads-daemon"
	headerSession       = "mothreads-session"
	headerSessionDaemon = "mothreads-session-daemon"
)

// ErrSessionLost is matched (with errors.Is) by the *RequestError of a
// sticky call whose session was created on a daemon that no longer serves
// it: that daemon stopped, or the fleet changed so that the session's name
// now hashes to another daemon. Nothing ran. Call ForgetSession to start a
// new session under the same name, knowing that its state is gone.
var ErrSessionLost = errors.New("mothreads: sticky session lost")

// fleetServiceConfig is the default service config of the channel for
// isolated calls over TCP: round_robin over every address the resolver
// gives, skipping daemons whose health is not SERVING, and retrying a call
// refused as Unavailable before it started (gRPC retries only calls that
// received no response yet, so a command that started is never run twice).
const fleetServiceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}],
  "healthCheckConfig": {"serviceName": "mothreads.v1.Mothreads"},
  "methodConfig": [{
    "name": [
      {"service": "mothreads.v1.Mothreads", "method": "Exec"},
      {"service": "mothreads.v1.Mothreads", "method": "Run"},
      {"service": "mothreads.v1.Mothreads", "method": "Status"}
    ],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// stickyServiceConfig is the one of the channel for sticky calls: a
// consistent hash of the session name (the request header
// mothreads-session) picks the daemon.
const stickyServiceConfig = `{
  "loadBalancingConfig": [{"ring_hash_experimental": {"requestHashHeader": "mothreads-session"}}]
}`

// WithTargets makes Dial spread calls over the daemons at addrs
// ("host:port" each) over TCP, as WithAddress does with a comma-separated
// list. It is WithAddress with one list, through gRPC's manual resolver.
func WithTargets(addrs ...string) Option {
	return func(o *options) { o.address = strings.Join(addrs, ",") }
}

// fleet is the state of a Client of TCP daemons.
type fleet struct {
	target string
	opts   []grpc.DialOption

	once   sync.Once
	sticky *grpc.ClientConn // ring_hash; nil until the first sticky call
	rpc    pb.MothreadsClient
	err    error

	mu       sync.Mutex
	sessions map[string]string // session name -> daemon instance
}

// tcpTarget returns the gRPC target for address and the dial options it
// needs: a list of addresses gets a manual resolver of its own, anything
// else (host:port, dns:///name:port, ...) is resolved by gRPC.
func tcpTarget(address string) (string, []grpc.DialOption, error) {
	if !strings.Contains(address, ",") {
		return address, nil, nil
	}
	var eps []resolver.Endpoint
	for _, a := range strings.Split(address, ",") {
		a = strings.TrimSpace(a)
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return "", nil, fmt.Errorf("mothreads: dial: address %q in the list: %w", a, err)
		}
		eps = append(eps, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a, ServerName: host}}})
	}
	r := manual.NewBuilderWithScheme("mothreads-list")
	r.InitialState(resolver.State{Endpoints: eps})
	return "mothreads-list:///daemons", []grpc.DialOption{grpc.WithResolvers(r)}, nil
}

// route returns the context and the stub for a call in session (none:
// ""): a sticky call gets the session header (and, over TCP, the daemon
// it was created on) and goes through the sticky channel.
func (c *Client) route(ctx context.Context, session string) (context.Context, pb.MothreadsClient) {
	if session == "" {
		return ctx, c.rpc
	}
	ctx = metadata.AppendToOutgoingContext(ctx, headerSession, session)
	f := c.fleet
	if f == nil {
		return ctx, c.rpc
	}
	f.mu.Lock()
	inst := f.sessions[session]
	f.mu.Unlock()
	if inst != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, headerSessionDaemon, inst)
	}
	f.once.Do(func() {
		opts := append(append([]grpc.DialOption{}, f.opts...), grpc.WithDefaultServiceConfig(stickyServiceConfig))
		f.sticky, f.err = grpc.NewClient(f.target, opts...)
		if f.err == nil {
			f.rpc = pb.NewMothreadsClient(f.sticky)
		}
	})
	if f.err != nil {
		return ctx, c.rpc // cannot happen with options that made the first channel
	}
	return ctx, f.rpc
}

// noteSession remembers which daemon instance serves session, from a
// call's response header.
func (c *Client) noteSession(session string, md metadata.MD) {
	if session == "" || c.fleet == nil {
		return
	}
	inst := md.Get(headerDaemon)
	if len(inst) == 0 {
		return
	}
	c.fleet.mu.Lock()
	defer c.fleet.mu.Unlock()
	if _, ok := c.fleet.sessions[session]; !ok {
		c.fleet.sessions[session] = inst[0]
	}
}

// ForgetSession forgets the daemon that sticky session name was created
// on, so that its next call may create it afresh on whichever daemon its
// name hashes to. Use it after ErrSessionLost, or after closing the
// session. It does nothing on a Unix socket.
func (c *Client) ForgetSession(name string) {
	if c.fleet == nil {
		return
	}
	c.fleet.mu.Lock()
	delete(c.fleet.sessions, name)
	c.fleet.mu.Unlock()
}

// closeFleet closes the sticky channel, if any.
func (c *Client) closeFleet() error {
	if c.fleet == nil {
		return nil
	}
	c.fleet.once.Do(func() {}) // no sticky channel after Close
	if c.fleet.sticky != nil {
		return c.fleet.sticky.Close()
	}
	return nil
}
