package driver

import (
	"errors"
	"fmt"
)

// ErrKind classifies why a call was refused before its command ran; the
// daemon maps it to a gRPC code.
type ErrKind int

const (
	// Invalid: the request is malformed (InvalidArgument).
	Invalid ErrKind = iota
	// NotFound: something the request names does not exist, such as its
	// working directory or program (NotFound).
	NotFound
	// TooLarge: the request exceeds a size limit (ResourceExhausted).
	TooLarge
	// Busy: no session became free within the queue timeout
	// (ResourceExhausted).
	Busy
	// Unavailable: the pool is stopping or stopped (Unavailable).
	Unavailable
	// StartFailed: no session could be started for the call, for example
	// because the init script failed (FailedPrecondition).
	StartFailed
)

func (k ErrKind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case TooLarge:
		return "too large"
	case Busy:
		return "busy"
	case Unavailable:
		return "unavailable"
	case StartFailed:
		return "session start failed"
	}
	return fmt.Sprintf("ErrKind(%d)", int(k))
}

// RequestError is a call refused before its command ran. Field names the
// request field at fault, using the daemon API's field names ("argv[0]",
// "cwd", "env[2]", "timeout", ...), or is empty when no field is at fault.
type RequestError struct {
	Field   string
	Kind    ErrKind
	Problem string
	Err     error // underlying cause, if any
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return fmt.Sprintf("field %q: %s", e.Field, e.Problem)
}

func (e *RequestError) Unwrap() error { return e.Err }

// InvalidField is an Invalid RequestError for field.
func InvalidField(field, problem string) error {
	return &RequestError{Field: field, Kind: Invalid, Problem: problem}
}

// ErrClosed is the cause of Unavailable errors: the pool has stopped
// accepting calls.
var ErrClosed = errors.New("pool is shut down")

// ErrQueueTimeout is the cause of Busy errors.
var ErrQueueTimeout = errors.New("no session became free within the queue timeout")
