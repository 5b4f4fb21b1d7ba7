//go:build unix

package client

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/url"

	"github.com/mothreads/mothreads/internal/sockpath"
	"google.golang.org/grpc"
)

// unixTarget returns the gRPC target and the dial options that reach the
// Unix socket at abs through a dialer that checks, before every connection
// and before anything is sent on it, that the socket and its directories
// pass sockpath's rule for uid and that the process listening on it runs as
// uid (SO_PEERCRED, where the platform has it). Refusals are recorded in tr,
// and so is a permission error on the way (a directory the user may not
// enter): no daemon is missing there, and starting one would not help.
func unixTarget(abs string, uid int, tr *trust) (string, []grpc.DialOption) {
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		if err := sockpath.CheckSocket(abs, uid); err != nil {
			if errors.Is(err, sockpath.ErrUnsafe) || errors.Is(err, fs.ErrPermission) {
				tr.refuse(err)
			}
			return nil, err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", abs)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) { // connect(2): EACCES
				tr.refuse(err)
			}
			return nil, err
		}
		if err := checkPeer(conn.(*net.UnixConn), abs, uid); err != nil {
			conn.Close()
			tr.refuse(err)
			return nil, err
		}
		tr.accept()
		return conn, nil
	}
	// The target only names the socket (in errors and channelz); the dialer
	// above makes every connection. url.URL escapes what a raw
	// "unix://"+path would break on (%, #, ?).
	target := "passthrough:///" + (&url.URL{Scheme: "unix", Path: abs}).String()
	return target, []grpc.DialOption{grpc.WithContextDialer(dial), grpc.WithAuthority("localhost")}
}
