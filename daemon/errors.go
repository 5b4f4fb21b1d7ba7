package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/mothreads/mothreads/pool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrAlreadyRunning is matched (errors.Is) by the error Serve returns when a
// live daemon already serves on the socket: it holds the socket's lock
// file, or it answers on the socket. The error reads
// "mothreadsd: already running on <path>".
var ErrAlreadyRunning = errors.New("mothreadsd: already running")

// fieldError is a refusal about one request field, following the client's
// convention: a BadRequest field violation naming the field, and a message
// that starts with `field "NAME": `. An empty field gives neither.
func fieldError(code codes.Code, field, problem string) error {
	problem = validText(problem)
	if field == "" {
		return status.Error(code, problem)
	}
	st := status.New(code, fmt.Sprintf("field %q: %s", field, problem))
	br := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: field, Description: problem},
	}}
	if withDetails, err := st.WithDetails(br); err == nil {
		st = withDetails
	}
	return st.Err()
}

// invalid is an InvalidArgument fieldError.
func invalid(field, format string, args ...any) error {
	return fieldError(codes.InvalidArgument, field, fmt.Sprintf(format, args...))
}

// kindCode maps a pool refusal to its gRPC code.
func kindCode(k pool.ErrKind) codes.Code {
	switch k {
	case pool.Invalid:
		return codes.InvalidArgument
	case pool.NotFound:
		return codes.NotFound
	case pool.TooLarge, pool.Busy:
		return codes.ResourceExhausted
	case pool.Unavailable:
		return codes.Unavailable
	case pool.StartFailed:
		return codes.FailedPrecondition
	}
	return codes.Internal
}

// toStatus turns an error of the pool into a gRPC status error: a
// *pool.RequestError keeps its field and gets its kind's code; a context
// error is Canceled or DeadlineExceeded; anything else is Internal, with
// op saying what failed.
func toStatus(op string, err error) error {
	var re *pool.RequestError
	if errors.As(err, &re) {
		return fieldError(kindCode(re.Kind), re.Field, re.Problem)
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Errorf(codes.Internal, "%s: %v", op, err)
}
