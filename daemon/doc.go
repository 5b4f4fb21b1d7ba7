// Package daemon is the gRPC service over the pool: the body of mothreadsd.
//
// Serve listens on a Unix socket (and, when asked, on TCP), runs a pool of
// warm shell sessions, and serves the mothreads.v1.Mothreads API (see
// proto/mothreads/v1), the standard grpc.health.v1 service and gRPC
// reflection, so that grpcurl and grpc_health_probe work against it. Its
// work is a tree of threads:
//
//	main ── server ── listen-unix, listen-tcp      (grpc.Server.Serve)
//	     │         ├─ call-N                       (one per RPC: the handler)
//	     │         └─ call-N-input                 (Attach: reads the client's stream)
//	     ├─ pool ──── session-K, keeper            (package pool)
//	     └─ idle                                   (with Config.ExitIdle)
//
// # The service
//
// Exec streams one Started event, then the command's stdout and stderr in
// chunks of at most 32 KiB exactly as produced, then one Exited. Attach is
// Exec with an input side: stdin chunks, close_stdin, resize and signal
// messages, read in order by one reader that never waits on the command
// unless 256 KiB of stdin is queued unread. Run buffers each stream up to
// its output_limit (at most Config.RunOutputLimit), keeping the first bytes
// and reporting truncation. Status reports the pool's figures; Shutdown
// starts the ordered shutdown below.
//
// Flow control (C13): output goes out as it arrives; when a client stops
// reading, gRPC's Send blocks, the pool stops reading the command's pipe,
// and the command blocks on its next write. The daemon holds one chunk per
// stream, never more. Cancelling an RPC, or losing its connection, cancels
// the call (C6): SIGTERM to the command's process group, SIGKILL after the
// kill grace.
//
// Refusals follow the client's convention: a gRPC code (InvalidArgument,
// NotFound, ResourceExhausted, Unavailable, FailedPrecondition), a
// google.rpc.BadRequest field violation naming the field ("argv[0]",
// "cwd", "env[2]", "timeout", ...), and a message starting with
// `field "NAME": `. Requests with fields the daemon does not know are
// refused rather than half understood.
//
// # Security model (C12)
//
// The socket's directory is created 0700; an existing one must be a real
// directory owned by the daemon's user and writable by nobody else, or
// Serve refuses to start. The socket is 0600. A lock file next to it
// (SOCKET.lock, flock) makes the daemon the only one on the path: a second
// one fails with ErrAlreadyRunning, as it does when a daemon answers on the
// socket. A socket nobody answers on (a crash) is replaced.
//
// Every connection on the socket has its peer's credentials read by the
// kernel (SO_PEERCRED) during the gRPC handshake; every RPC from a uid other
// than the daemon's own or root's fails with PermissionDenied, and each
// refusal is logged with the peer's pid, uid and gid. (Where the platform
// has no peer credentials, as on Windows, the socket's location is the only
// protection.)
//
// TCP is off unless Config.Listen is set, and then needs TLS (optionally
// with client certificates verified against Config.TLSClientCA) and/or a
// bearer token (Config.TokenFile, compared in constant time against the
// "authorization: Bearer <token>" metadata); Serve refuses TCP with
// neither. Every refused call or TLS handshake is logged with the peer's
// address.
//
// # Shutdown (C11)
//
// When root is asked to stop (SIGTERM or SIGINT through threads.Main, the
// Shutdown RPC, or the idle timeout), the server and the pool are asked
// together, and:
//
//  1. Health turns NOT_SERVING (Status says serving=false); the listeners
//     close and clients are told to go away (grpc GracefulStop).
//  2. The pool refuses new calls (Unavailable) and lets calls in flight run
//     until its DrainTimeout, then cancels them; each reports Exited with
//     cancelled set. The server cancels nothing itself: GracefulStop waits
//     for the handlers, which end with their calls. Shutdown with
//     skip_drain, or Config.SkipDrain (mothreadsd's second signal), cancels
//     every call at once instead, even during the drain.
//  3. Once no call is in flight, health Watch and reflection streams are
//     ended so that GracefulStop can return. If it has not by the drain
//     deadline (DrainTimeout + 2 x KillGrace + 1s: only clients that stopped
//     reading can hold it up; after a skipped drain, 2 x KillGrace + 1s from
//     the skip), or the tree is forced (mothreadsd's third signal),
//     every connection is closed.
//  4. The pool stops its sessions; the socket file is removed (only if it is
//     still the one this daemon made) and the lock released; Serve returns.
//
// Each step is logged.
package daemon
