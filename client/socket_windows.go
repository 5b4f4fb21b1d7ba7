package client

import (
	"context"
	"net"

	"google.golang.org/grpc"
)

// unixTarget returns the gRPC target and the dial options that reach the
// Unix socket at abs. A drive letter does not fit grpc's unix:// target
// ("unix://C:/..." parses C: as the host), so the path is dialled directly.
// Windows has no uids to check: the socket directory's ACL keeps other users
// out.
func unixTarget(abs string, _ int, _ *trust) (string, []grpc.DialOption) {
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", abs)
	}
	return "passthrough:///mothreads", []grpc.DialOption{
		grpc.WithContextDialer(dial),
		grpc.WithAuthority("localhost"),
	}
}
