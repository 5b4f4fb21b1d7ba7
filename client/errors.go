package client

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrUnavailable is matched (with errors.Is) by every error that means the
// daemon could not be reached or is not serving: no socket, connection
// refused, the connection lost mid-call, or the daemon draining. The error
// itself is a *DaemonError.
var ErrUnavailable = errors.New("mothreads: daemon unavailable")

// ErrNotFound is matched (with errors.Is) by the *RequestError the daemon
// returns when the command name (argv[0]) resolves to nothing in the session:
// no function, builtin or program of that name. errors.Is(err,
// exec.ErrNotFound) matches too, so code written for os/exec keeps working.
var ErrNotFound = errors.New("mothreads: command not found")

// errNotAttached is returned by Process.Signal and Process.Resize on a call
// that was started without an input side.
var errNotAttached = errors.New("mothreads: the call has no input side (start it with Client.Start)")

// DaemonError is a call that failed on the daemon's side or on the way to it:
// the daemon was unreachable (errors.Is(err, ErrUnavailable)), broke the
// connection, or failed internally. It is not about the request's content.
type DaemonError struct {
	// Op is the call: "exec", "attach", "run", "status", "shutdown", or
	// for sticky sessions "list sessions", "close session", "interrupt",
	// "input" or "logs".
	Op string
	// Target is the socket path or TCP address the client talks to.
	Target string
	// Code is the gRPC status code (codes.Unavailable when unreachable).
	Code codes.Code
	// Err is the underlying gRPC error.
	Err error
}

func (e *DaemonError) Error() string {
	what := "daemon error"
	if e.Code == codes.Unavailable {
		what = "daemon unavailable"
	}
	return fmt.Sprintf("mothreads: %s via %s: %s: %s", e.Op, e.Target, what, grpcDesc(e.Err))
}

// Unwrap returns the gRPC error, so status.Code(err) works on a DaemonError.
func (e *DaemonError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnavailable and the daemon was unreachable.
func (e *DaemonError) Is(target error) bool {
	return target == ErrUnavailable && e.Code == codes.Unavailable
}

// FieldViolation names one offending request field and says what is wrong.
type FieldViolation struct {
	Field       string
	Description string
}

// RequestError is a call the daemon refused before running anything: bad
// input (InvalidArgument, OutOfRange), a missing directory or command
// (NotFound), no capacity in time (ResourceExhausted), a state that does not
// allow it (FailedPrecondition, AlreadyExists), or no access
// (Unauthenticated, PermissionDenied). Field names the offending request
// field when the daemon named one; see the package documentation for the
// convention.
type RequestError struct {
	// Op is the call: "exec", "attach", "run", "status", "shutdown", or
	// for sticky sessions "list sessions", "close session", "interrupt",
	// "input" or "logs".
	Op string
	// Code is the gRPC status code.
	Code codes.Code
	// Field is the first offending field ("cwd", "argv[0]", "env[2]", ...),
	// or "" when the daemon named none.
	Field string
	// Message is the daemon's status message.
	Message string
	// Violations lists every field the daemon named, in its order.
	Violations []FieldViolation
	// Err is the underlying gRPC error.
	Err error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("mothreads: %s rejected (%s): %s", e.Op, e.Code, e.Message)
}

// Unwrap returns the gRPC error, so status.Code(err) works on a RequestError.
func (e *RequestError) Unwrap() error { return e.Err }

// Is reports whether target is ErrNotFound or exec.ErrNotFound and the
// daemon said the command name was not found, target is ErrSessionLost
// and the daemon said the call's sticky session is lost, or target is
// ErrNoSession and the daemon has no sticky session of the name.
func (e *RequestError) Is(target error) bool {
	if target == ErrSessionLost {
		return e.Code == codes.NotFound && e.Field == "session" && strings.Contains(e.Message, "the session is lost")
	}
	if target == ErrNoSession {
		return e.Code == codes.NotFound && e.Field == "session" && !strings.Contains(e.Message, "the session is lost")
	}
	return (target == ErrNotFound || target == exec.ErrNotFound) &&
		e.Code == codes.NotFound && (e.Field == "argv[0]" || e.Field == "argv")
}

// fieldInMessage returns NAME from the convention's fallback, a message
// holding `field "NAME"`. (Not a regexp: compiling one at package init
// costs every process that links the client, the CLI's start-up included.)
func fieldInMessage(msg string) (string, bool) {
	const prefix = `field "`
	i := strings.Index(msg, prefix)
	if i < 0 {
		return "", false
	}
	rest := msg[i+len(prefix):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}

// convertErr turns an error of a gRPC call into the package's error types.
// ctx is the call's context: when it is done, the result wraps ctx.Err().
func (c *Client) convertErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("mothreads: %s: %w", op, ctxErr)
	}
	st, ok := status.FromError(err)
	if refusal := c.trust.refusal(); refusal != nil && st.Code() == codes.Unavailable {
		return &TrustError{Op: op, Target: c.target, Err: refusal}
	}
	if !ok {
		return &DaemonError{Op: op, Target: c.target, Code: codes.Unknown, Err: err}
	}
	switch st.Code() {
	case codes.InvalidArgument, codes.NotFound, codes.ResourceExhausted,
		codes.FailedPrecondition, codes.OutOfRange, codes.AlreadyExists,
		codes.Unauthenticated, codes.PermissionDenied:
		re := &RequestError{Op: op, Code: st.Code(), Message: st.Message(), Err: err}
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					re.Violations = append(re.Violations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
				}
			}
		}
		if len(re.Violations) > 0 {
			re.Field = re.Violations[0].Field
		} else if f, ok := fieldInMessage(st.Message()); ok {
			re.Field = f
		}
		return re
	case codes.DeadlineExceeded, codes.Canceled:
		// ctx's deadline travels to the daemon (grpc-timeout, rounded up), so
		// the daemon's copy can end the call a moment before ctx's own timer
		// has marked ctx done.
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return fmt.Errorf("mothreads: %s: %w", op, context.DeadlineExceeded)
		}
		return &DaemonError{Op: op, Target: c.target, Code: st.Code(), Err: err}
	default:
		// Unavailable, and everything else: Internal, Unknown, Unimplemented.
		return &DaemonError{Op: op, Target: c.target, Code: st.Code(), Err: err}
	}
}

// grpcDesc is the message of a gRPC error without the "rpc error: code = X
// desc = " prefix.
func grpcDesc(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}

// ExitError is what Cmd.Run, Cmd.Wait and Cmd.Output return when the command
// ran but did not succeed: it exited non-zero, died by a signal, was killed
// on the daemon's timeout, or its session was lost.
type ExitError struct {
	// Result is the command's full result.
	Result *Result
	// Stderr holds the command's standard error (up to 32 KiB of its start
	// and end, as os/exec keeps it) when the error came from Cmd.Output and
	// Cmd.Stderr was nil.
	Stderr []byte
}

func (e *ExitError) Error() string { return e.Result.String() }

// ExitCode is the command's exit status, or -1 when it was killed by a
// signal or its session was lost (as os/exec's ExitCode).
func (e *ExitError) ExitCode() int { return e.Result.ExitCode }

// Exited reports whether the command exited on its own (not by a signal, not
// a lost session).
func (e *ExitError) Exited() bool { return e.Result.exited() }

// Signal is the signal that killed the command, or 0.
func (e *ExitError) Signal() syscall.Signal { return e.Result.Signal }

// TimedOut reports whether the daemon killed the command on its timeout.
func (e *ExitError) TimedOut() bool { return e.Result.TimedOut }

// Interrupted reports whether a sticky session's command was interrupted
// (Client.Interrupt, or its timeout) and its session kept.
func (e *ExitError) Interrupted() bool { return e.Result.Interrupted }
