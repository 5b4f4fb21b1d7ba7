package client

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrUntrusted is matched (with errors.Is) by the error of every call that
// was not sent because the daemon's socket failed the client's checks: the
// socket, its directories or the process listening on it belong to someone
// the client does not trust (see WithDaemonUID), or the client may not
// reach them (permission denied on a directory on the way, or on the
// socket). The error is a *TrustError. It never matches ErrUnavailable:
// starting a daemon would not help.
var ErrUntrusted = errors.New("mothreads: untrusted daemon socket")

// TrustError is a call that was not sent because the daemon's socket failed
// the checks Dial makes before every connection.
type TrustError struct {
	// Op is the call: "exec", "attach", "run", "status" or "shutdown".
	Op string
	// Target is the socket path.
	Target string
	// Err says what failed, naming the path and the owner, for example
	// "socket directory /tmp/mothreads-1002 is owned by uid 65534, not by
	// uid 1002 or root; refusing to use it".
	Err error
}

func (e *TrustError) Error() string {
	return fmt.Sprintf("mothreads: %s via %s: %v", e.Op, e.Target, e.Err)
}

// Unwrap returns what failed.
func (e *TrustError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUntrusted) true.
func (e *TrustError) Is(target error) bool { return target == ErrUntrusted }

// trust holds the last refusal of the client's dialer: gRPC reports a failed
// connection as Unavailable with only its text, so the dialer keeps the
// refusal here for convertErr to report as a *TrustError instead.
type trust struct {
	last atomic.Pointer[error]
}

// refuse records err as the reason the last connection was refused.
func (t *trust) refuse(err error) { t.last.Store(&err) }

// accept forgets any refusal: the last connection passed.
func (t *trust) accept() { t.last.Store(nil) }

// refusal is the last refusal, or nil.
func (t *trust) refusal() error {
	if t == nil {
		return nil
	}
	if p := t.last.Load(); p != nil {
		return *p
	}
	return nil
}

// peerError is a daemon whose process runs as another user than expected.
type peerError struct {
	socket    string
	uid, want int
}

func (e *peerError) Error() string {
	if e.want == 0 {
		return fmt.Sprintf("the daemon on %s runs as uid %d, not as root; refusing to send it root's calls (trust it explicitly with --daemon-uid %d or client.WithDaemonUID)", e.socket, e.uid, e.uid)
	}
	return fmt.Sprintf("the daemon on %s runs as uid %d, not as uid %d; refusing to use it", e.socket, e.uid, e.want)
}
