package client

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"google.golang.org/grpc"
)

// DefaultSocketPath is the daemon's socket when none is given, looked up in
// this order (the External interface of DESIGN.md):
//
//  1. $MOTHREADS_SOCKET, when set and not empty;
//  2. $XDG_RUNTIME_DIR/mothreads/mothreads.sock, when XDG_RUNTIME_DIR is set;
//  3. /tmp/mothreads-<uid>/mothreads.sock (the literal /tmp, not $TMPDIR, so
//     that a daemon and a client with different TMPDIRs still meet).
//
// On Windows, where there is no uid, step 3 is
// os.TempDir()\mothreads\mothreads.sock (the temp directory is per user).
//
// It reads the environment on every call. The daemon uses the same rule for
// its --socket default; a copy of it there must stay identical.
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

// unixTarget returns the gRPC target and the dial options that reach the Unix
// socket at path. A relative path is made absolute first, so the target does
// not depend on the process's later working directory.
func unixTarget(path string) (string, []grpc.DialOption, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", nil, fmt.Errorf("mothreads: socket path %q: %w", path, err)
	}
	if runtime.GOOS != "windows" {
		// url.URL escapes what a raw "unix://"+path would break on (%, #, ?).
		return (&url.URL{Scheme: "unix", Path: abs}).String(), nil, nil
	}
	// A drive letter does not fit grpc's unix:// target ("unix://C:/..."
	// parses C: as the host), so dial the path directly.
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", abs)
	}
	return "passthrough:///mothreads", []grpc.DialOption{
		grpc.WithContextDialer(dial),
		grpc.WithAuthority("localhost"),
	}, nil
}
