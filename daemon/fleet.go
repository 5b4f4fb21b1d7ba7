package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// What a daemon does for clients of many daemons: every call's response
// carries the daemon's instance id (HeaderDaemon), and a sticky call that
// names the instance it expects (HeaderSessionDaemon) is refused by any
// other daemon, so that a sticky session whose daemon is gone is reported
// lost instead of being created afresh, empty, on another daemon. Calls
// over mutual TLS are logged and counted by the client certificate's
// identity.

// Metadata keys of the fleet protocol; the client uses the same names.
const (
	// HeaderDaemon is the response header that names the daemon instance.
	HeaderDaemon = "mothreads-daemon"
	// HeaderSession is the request header that carries a sticky call's
	// session name; clients of many daemons hash it (ring_hash) to pick
	// the daemon.
	HeaderSession = "mothreads-session"
	// HeaderSessionDaemon is the request header that names the instance a
	// sticky session was created on.
	HeaderSessionDaemon = "mothreads-session-daemon"
)

// newInstanceID returns a random id for this daemon process.
func newInstanceID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// fleetCall runs for every service call after authorize: it refuses a
// sticky session meant for another instance, and logs and counts a TLS
// client identity. (The response header that names the daemon is set with
// the first response, see daemonHeader: a refusal must carry no header, or
// the client's gRPC would take the call as started and not retry it.)
func (d *daemon) fleetCall(ctx context.Context, method string) error {
	if !strings.HasPrefix(method, servicePrefix) {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if want := md.Get(HeaderSessionDaemon); len(want) > 0 && want[0] != d.instance {
		session := strings.Join(md.Get(HeaderSession), "")
		return fieldError(codes.NotFound, "session", fmt.Sprintf(
			"sticky session %q was created on daemon %s, and this is daemon %s: the session is lost (its daemon stopped, or the fleet changed); start it again under a new name or after forgetting it",
			session, want[0], d.instance))
	}
	if id := tlsIdentity(ctx); id != "" {
		d.identities.add(id)
		d.logger(callThread(ctx)).Info("call", "method", strings.TrimPrefix(method, servicePrefix), "identity", id, "peer", peerAddr(ctx))
	}
	return nil
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok {
		return p.Addr.String()
	}
	return ""
}

// tlsIdentity is the identity of the call's client certificate: its first
// DNS SAN, else its first URI SAN, else its first e-mail SAN, else its
// subject's common name; "" without one.
func tlsIdentity(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	var ti *credentials.TLSInfo
	if a, ok := p.AuthInfo.(tcpAuth); ok {
		ti = a.TLS
	}
	if ti == nil || len(ti.State.PeerCertificates) == 0 {
		return ""
	}
	c := ti.State.PeerCertificates[0]
	switch {
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case len(c.URIs) > 0:
		return c.URIs[0].String()
	case len(c.EmailAddresses) > 0:
		return c.EmailAddresses[0]
	}
	return c.Subject.CommonName
}

// identityCounts counts calls per client identity, for Status. It keeps at
// most maxIdentities names; calls of later ones count under "(other)".
type identityCounts struct {
	mu sync.Mutex
	n  map[string]int64
}

const maxIdentities = 1000

func (c *identityCounts) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	if _, ok := c.n[id]; !ok && len(c.n) >= maxIdentities {
		id = "(other)"
	}
	c.n[id]++
}

func (c *identityCounts) proto() []*pb.ClientIdentity {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*pb.ClientIdentity, 0, len(c.n))
	for id, n := range c.n {
		out = append(out, &pb.ClientIdentity{Identity: id, Calls: n})
	}
	slices.SortFunc(out, func(a, b *pb.ClientIdentity) int { return strings.Compare(a.Identity, b.Identity) })
	return out
}

// fleetStatus adds the instance, the identities and the live heap to a
// Status response.
func (d *daemon) fleetStatus(r *pb.StatusResponse) *pb.StatusResponse {
	r.Instance = d.instance
	r.Identities = d.identities.proto()
	r.HeapLiveBytes = heapLiveBytes()
	return r
}

// heapLiveBytes is the heap the last garbage collection found live (0 if
// the runtime does not say): reading it stops nothing.
func heapLiveBytes() int64 {
	m := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(m[0].Value.Uint64())
}

// daemonHeader is the response header that names this daemon.
func (d *daemon) daemonHeader() metadata.MD { return metadata.Pairs(HeaderDaemon, d.instance) }

// headerOnSend is a server stream that sets a response header just before
// its first message.
type headerOnSend struct {
	grpc.ServerStream
	header metadata.MD
	once   sync.Once
}

func (s *headerOnSend) SendMsg(m any) error {
	s.once.Do(func() { _ = s.ServerStream.SetHeader(s.header) })
	return s.ServerStream.SendMsg(m)
}
