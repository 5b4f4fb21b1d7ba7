package daemon

import (
	"runtime"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	protoCodec "google.golang.org/grpc/encoding/proto"
)

// Server limits that bound the daemon's memory and the cost of each call,
// kept in one place (newServer adds them): the transport's own limits; the
// memory budget for what handlers buffer is budget.go's.
const (
	// maxStreamsPerConn bounds the calls in flight on one connection: each
	// holds at most a request of MaxRequestBytes while it is received, and a
	// Run response that its client does not read keeps its stream open. A
	// client with more calls at once waits for a free stream (gRPC clients
	// queue them); it is not refused.
	maxStreamsPerConn = 128
	// maxHeaderListBytes bounds a call's metadata (the bearer token is the
	// only header a client needs to send); gRPC's default is 16 MiB.
	maxHeaderListBytes = 64 << 10
	// streamWindowBytes and connWindowBytes are the HTTP/2 flow-control
	// windows of what the daemon receives (requests, Attach stdin). They
	// are static, so that gRPC does not estimate the bandwidth: its
	// estimator sends the client a PING, with a WINDOW_UPDATE, on most
	// requests, which the client answers, at the cost of writes, reads
	// and wake-ups at both ends during every call (on a Unix socket the
	// estimate gains nothing). The stream window is gRPC's initial one:
	// what a client may send that a handler has not read yet (Attach stdin
	// beyond maxStdinBuffer then waits in the client) stays as bounded as
	// before; the connection's lets several streams send at once.
	streamWindowBytes = 64 << 10
	connWindowBytes   = 1 << 20
)

// callPathOptions are the gRPC server options of the call path: the
// per-connection limits above; stream workers, which run calls on reused
// goroutines instead of starting one per call; and exactCodec, which lets
// the memory budget count a Run response as the bytes it holds.
func callPathOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(exactCodec{encoding.GetCodecV2(protoCodec.Name)}),
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
		grpc.MaxHeaderListSize(maxHeaderListBytes),
		grpc.NumStreamWorkers(uint32(max(runtime.GOMAXPROCS(0), 2))),
		grpc.StaticStreamWindowSize(streamWindowBytes),
		grpc.StaticConnWindowSize(connWindowBytes),
	}
}
