package daemon

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
)

// The memory budget (issue 11, H4). Exec and Attach stream their output
// under gRPC's flow control and hold one chunk at a time; what the daemon
// holds beyond that for a caller is counted against one daemon-wide budget
// of Config.MaxBuffered bytes:
//
//   - a Run call's buffered output, as it grows;
//   - a Run call's response once the handler has returned it, until the
//     connection has written that many bytes to the client: a client that
//     stops reading holds it in gRPC's transport, out of the handler's sight
//     (trackedConn counts the bytes each connection writes);
//   - the stdin_data of an Exec or Run call, from its arrival (it may wait in
//     the queue) to the call's end.
//
// A connection may hold at most a quarter of the budget (its share), so
// that one client that stops reading cannot take it all. A call that would
// go over at its start is refused with ResourceExhausted naming the field
// ("output_limit" for Run's buffers, "stdin_data"); a Run whose output
// outgrows what is left keeps running and reading its output, and its
// response is truncated and says so.

// runAdmission is what a Run call reserves when it starts; its buffers grow
// from there in steps of at least leaseStep.
const (
	runAdmission = 64 << 10
	leaseStep    = 64 << 10
)

// budget is the daemon-wide count. The zero value has no limit.
type budget struct {
	limit   int64
	used    atomic.Int64
	peak    atomic.Int64
	refused atomic.Int64
}

// take reserves n bytes unless that would go over the limit.
func (b *budget) take(n int64) bool {
	for {
		u := b.used.Load()
		if b.limit > 0 && u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			for p := b.peak.Load(); u+n > p && !b.peak.CompareAndSwap(p, u+n); p = b.peak.Load() {
			}
			return true
		}
	}
}

func (b *budget) give(n int64) { b.used.Add(-n) }

// share is what one connection may hold.
func (b *budget) share() int64 { return b.limit / 4 }

// account returns the budget account of the call's connection: its own
// count on a tracked connection, else one that counts against the budget
// alone.
func (b *budget) account(ctx context.Context) *connAccount {
	if p, ok := peer.FromContext(ctx); ok {
		if a, ok := p.Addr.(trackedAddr); ok {
			return a.acct
		}
	}
	return &connAccount{b: b, untracked: true}
}

// connAccount is one connection's part of the budget: the bytes its calls
// hold (held), and the responses waiting to be written to it.
type connAccount struct {
	b         *budget
	untracked bool // no connection to watch: a response is released at once
	mu        sync.Mutex
	held      int64
	closed    bool
	waiting   []writeMark // responses not yet written, by ascending mark
	nwait     atomic.Int32
	written   atomic.Int64 // bytes written to the connection
}

// writeMark is a response's memory (n bytes), released once the
// connection has written up to mark. The marks of one connection ascend:
// its writes are counted in the order they happen.
type writeMark struct{ mark, n int64 }

// take reserves n bytes for a call of this connection, within its share and
// the budget.
func (a *connAccount) take(n int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.b.limit > 0 && a.held+n > a.b.share() {
		return false
	}
	if !a.b.take(n) {
		return false
	}
	a.held += n
	return true
}

func (a *connAccount) give(n int64) {
	a.mu.Lock()
	a.held -= n
	a.mu.Unlock()
	a.b.give(n)
}

// holdUntilWritten keeps n bytes (already reserved) until the connection
// has written wire more bytes, or closes; without a connection to watch,
// it gives them back at once.
func (a *connAccount) holdUntilWritten(n, wire int64) {
	a.mu.Lock()
	if a.closed || a.untracked {
		a.mu.Unlock()
		a.give(n)
		return
	}
	a.waiting = append(a.waiting, writeMark{mark: a.written.Load() + wire, n: n})
	a.nwait.Add(1)
	a.mu.Unlock()
}

// wrote counts n bytes written to the connection and releases the
// responses that are out.
func (a *connAccount) wrote(n int) {
	w := a.written.Add(int64(n))
	if a.nwait.Load() == 0 {
		return
	}
	var free int64
	a.mu.Lock()
	i := 0
	for ; i < len(a.waiting) && a.waiting[i].mark <= w; i++ {
		free += a.waiting[i].n
	}
	a.waiting = a.waiting[i:]
	a.nwait.Add(int32(-i))
	a.held -= free
	a.mu.Unlock()
	a.b.give(free)
}

// close releases everything waiting on the connection.
func (a *connAccount) close() {
	a.mu.Lock()
	var free int64
	for _, w := range a.waiting {
		free += w.n
	}
	a.waiting, a.closed = nil, true
	a.nwait.Store(0)
	a.held -= free
	a.mu.Unlock()
	a.b.give(free)
}

// lease is one call's reservation: it grows as the call's buffers do and
// ends either given back (end) or handed to the connection until the
// response is written (endHolding).
type lease struct {
	acct     *connAccount
	reserved int64 // taken from the account
	used     int64 // of reserved, in use
	mu       sync.Mutex
}

// reserve takes n bytes ahead of their use (a call's admission).
func (l *lease) reserve(n int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.acct.take(n) {
		return false
	}
	l.reserved += n
	return true
}

// grow makes room for n more bytes, reserving in steps of at least
// leaseStep; false when the budget or the connection's share is spent.
func (l *lease) grow(n int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.used+n > l.reserved {
		more := max(l.used+n-l.reserved, leaseStep)
		if !l.acct.take(more) {
			if !l.acct.take(l.used + n - l.reserved) {
				return false
			}
			more = l.used + n - l.reserved
		}
		l.reserved += more
	}
	l.used += n
	return true
}

// end gives the whole reservation back.
func (l *lease) end() {
	l.mu.Lock()
	r := l.reserved
	l.reserved, l.used = 0, 0
	l.mu.Unlock()
	if r > 0 {
		l.acct.give(r)
	}
}

// endHolding keeps n bytes of the reservation (taking more if needed) until
// the connection has written wire more bytes (the response), and gives the
// rest back.
func (l *lease) endHolding(n, wire int64) {
	l.mu.Lock()
	r := l.reserved
	l.reserved, l.used = 0, 0
	l.mu.Unlock()
	switch {
	case r > n:
		l.acct.give(r - n)
	case r < n && !l.acct.take(n-r):
		n = r // the framing's few bytes: not worth failing a finished call
	}
	if n > 0 {
		l.acct.holdUntilWritten(n, wire)
	}
}

// exactCodec is gRPC's proto codec, except that it encodes a RunResponse
// into a buffer of exactly its size: the default codec takes a buffer from
// gRPC's pool, whose tiers would make a 40 KiB response hold 1 MiB while
// its client does not read it, out of the budget's sight.
type exactCodec struct{ encoding.CodecV2 }

func (c exactCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*pb.RunResponse); ok {
		b, err := proto.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	return c.CodecV2.Marshal(v)
}

// errBudget is the refusal of a call that the budget cannot take.
func errBudget(field string, a *connAccount, want int64) error {
	b := a.b
	b.refused.Add(1)
	a.mu.Lock()
	held := a.held
	a.mu.Unlock()
	if b.limit > 0 && held+want > b.share() {
		return fieldError(codes.ResourceExhausted, field, fmt.Sprintf(
			"this connection already holds %d bytes of buffered output and stdin (its share of --max-buffered %d is %d): read the responses of its earlier calls",
			held, b.limit, b.share()))
	}
	return fieldError(codes.ResourceExhausted, field, fmt.Sprintf(
		"the daemon holds %d bytes of buffered output and stdin, and %d more would go over --max-buffered (%d bytes): retry later or stream with Exec",
		b.used.Load(), want, b.limit))
}

// trackedCreds wraps the server's transport credentials: every connection
// that passes the handshake is wrapped in a trackedConn, so that the budget
// knows how much each one has written.
type trackedCreds struct {
	credentials.TransportCredentials
	b *budget
}

func (c trackedCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		return conn, info, err
	}
	return &trackedConn{Conn: conn, acct: &connAccount{b: c.b}}, info, nil
}

func (c trackedCreds) Clone() credentials.TransportCredentials {
	return trackedCreds{TransportCredentials: c.TransportCredentials.Clone(), b: c.b}
}

// trackedConn counts the bytes written to a connection for its account.
// Its RemoteAddr carries the account to the connection's calls (gRPC's
// peer.Addr); it prints as the address it wraps.
type trackedConn struct {
	net.Conn
	acct *connAccount
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.acct.wrote(n)
	return n, err
}

func (c *trackedConn) Close() error {
	c.acct.close()
	return c.Conn.Close()
}

func (c *trackedConn) RemoteAddr() net.Addr {
	return trackedAddr{Addr: c.Conn.RemoteAddr(), acct: c.acct}
}

// trackedAddr is a connection's address with its budget account.
type trackedAddr struct {
	net.Addr
	acct *connAccount
}
