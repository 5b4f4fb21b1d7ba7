// Package client is the Go library for calling a mothreads daemon: it runs
// commands in the daemon's warm shell sessions over gRPC.
//
// Cmd is shaped like os/exec.Cmd, so switching is one line:
//
//	out, err := client.Command(ctx, "git", "status", "--short").Output()
//
// For more control, Dial a Client and use Exec (stream the output into
// writers), Start (a running Process that takes signals and terminal
// resizes), Run (buffered output), Status and Shutdown:
//
//	c, err := client.Dial(ctx) // DefaultSocketPath, or WithSocket/WithAddress
//	if err != nil { ... }
//	defer c.Close()
//	res, err := c.Exec(ctx, &client.Request{Script: "make test"}, os.Stdout, os.Stderr)
//
// # Sticky sessions
//
// A Request with Session runs in a named shell whose state (directory,
// variables, functions, background jobs) persists across calls, as an
// agent's bash tool needs. There a timeout interrupts the command (^C) and
// keeps the session (Result.Interrupted). Sessions, Session, Interrupt,
// Input (for a call started with OpenStdin), Logs (what background jobs
// wrote after their call) and CloseSession manage them; see Example_agent.
//
// # Errors
//
// Every call separates four outcomes:
//
//   - The command ran and did not succeed: Exec and Run return a *Result
//     that says so with a nil error; Cmd returns an *ExitError.
//   - The daemon could not be reached (no socket, connection refused, the
//     connection lost, the daemon draining): a *DaemonError that matches
//     errors.Is(err, ErrUnavailable). Other daemon failures are *DaemonError
//     too, without that match.
//   - The daemon refused the request before running it: a *RequestError
//     with the gRPC code (InvalidArgument, NotFound, ResourceExhausted,
//     FailedPrecondition, OutOfRange, AlreadyExists, Unauthenticated,
//     PermissionDenied) and the offending Field.
//   - The command name was not found: a *RequestError that matches
//     errors.Is(err, ErrNotFound) (and exec.ErrNotFound).
//
// When the caller's context ends a call, the error wraps ctx.Err(). Every
// error wraps the gRPC status error, so status.Code(err) works as well.
//
// # How the daemon names the offending field
//
// The daemon follows this convention for every refusal, and the client
// relies on it:
//
//   - The status carries a google.rpc.BadRequest detail
//     (google.golang.org/genproto/googleapis/rpc/errdetails) with one
//     FieldViolation per offending field, the first being the main one.
//   - A field is named by its proto field name inside Command, with a
//     zero-based index for repeated fields: "argv", "argv[0]", "script",
//     "cwd", "env[2]", "base_env.vars[0]", "stdin_data", "timeout",
//     "kill_grace", "session", "tty"; fields outside Command by their name
//     in the request message ("output_limit", "start" for an Attach stream
//     that did not begin with start). A refusal about no field (the queue
//     timed out, the daemon is draining) has no violation.
//   - The status message names the field in words too, starting with
//     `field "NAME": ` (for example `field "cwd": /nope: no such
//     directory`), so the message alone reads well. The client falls back
//     to parsing that prefix when there is no BadRequest detail.
//   - A command name that resolves to nothing in the session is NotFound
//     with field "argv[0]"; a working directory that does not exist is
//     NotFound with field "cwd".
//
// # Sockets
//
// DefaultSocketPath is where Dial looks without options: $MOTHREADS_SOCKET,
// else $XDG_RUNTIME_DIR/mothreads/mothreads.sock, else
// /tmp/mothreads-<uid>/mothreads.sock. Before every connection the client
// checks the socket, its directories and the daemon's peer credentials
// (see WithDaemonUID); an untrusted socket fails with ErrUntrusted.
//
// # Many daemons
//
// Over TCP (WithAddress, WithTargets) the daemons require client
// authentication: mutual TLS (WithTLS, WithTLSFiles) and/or a bearer token
// (WithToken). An address may name many daemons (a list, or dns:///name:port):
// isolated calls go round_robin over the healthy ones, sticky calls by a
// hash of the session name to the daemon that holds the session, and a
// session whose daemon is gone fails with ErrSessionLost.
package client
