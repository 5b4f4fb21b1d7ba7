package daemon

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The TCP listener's limits before authentication (M6 of the 2026-11-30
// security report): a bounded number of connections, a deadline for each
// to authenticate, throttled token failures and rate-limited refusal logs.
// Without them, idle connections could take every descriptor of the daemon
// (the Unix socket's callers included) and wrong tokens could be tried
// thousands of times a second.

// tcpGate is the TCP listener with a bound on open connections: one over
// the bound is accepted and closed at once (so it takes no descriptor for
// longer), and each admitted connection is closed unless authorised within
// authTimeout.
type tcpGate struct {
	net.Listener
	slots       chan struct{} // one value per open connection
	authTimeout time.Duration
	refusals    *rateLog
}

func newTCPGate(l net.Listener, max int, authTimeout time.Duration, refusals *rateLog) *tcpGate {
	return &tcpGate{Listener: l, slots: make(chan struct{}, max), authTimeout: authTimeout, refusals: refusals}
}

// Accept returns the next connection within the bound.
func (g *tcpGate) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case g.slots <- struct{}{}:
			gc := &gateConn{Conn: c, gate: g}
			gc.timer = time.AfterFunc(g.authTimeout, gc.expire)
			return gc, nil
		default:
			g.refusals.warn("refused a TCP connection: too many connections", "peer", c.RemoteAddr().String(), "max", cap(g.slots))
			c.Close()
		}
	}
}

// gateConn is an admitted TCP connection.
type gateConn struct {
	net.Conn
	gate       *tcpGate
	timer      *time.Timer
	authorised atomic.Bool
	closed     sync.Once
}

// authorise marks the connection as authenticated: it stays open.
func (c *gateConn) authorise() {
	if c.authorised.CompareAndSwap(false, true) {
		c.timer.Stop()
	}
}

// expire closes the connection unless it was authorised in time.
func (c *gateConn) expire() {
	if c.authorised.Load() {
		return
	}
	c.gate.refusals.warn("closed a TCP connection: no authorised call within the time allowed", "peer", c.RemoteAddr().String(), "timeout", c.gate.authTimeout)
	c.Close()
}

// Close closes the connection and frees its slot, once.
func (c *gateConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() {
		c.timer.Stop()
		<-c.gate.slots
	})
	return err
}

// gateOf returns the gateConn under conn, or nil.
func gateOf(conn net.Conn) *gateConn {
	gc, _ := conn.(*gateConn)
	return gc
}
