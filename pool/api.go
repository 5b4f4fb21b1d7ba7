package pool

import "github.com/mothreads/mothreads/pool/internal/driver"

// The call contract lives in pool/internal/driver, shared by the scheduler
// and the drivers; these aliases are the pool's public names for it, so
// callers see one package.

// Request is one call: what to run, where, with what input, and where its
// output goes. See driver.Request for its fields.
type Request = driver.Request

// Result is how a call ended.
type Result = driver.Result

// WindowSize is a terminal size in character cells.
type WindowSize = driver.WindowSize

// Limits bound what one request may carry.
type Limits = driver.Limits

// RequestError is a call refused before its command ran; Field names the
// request field at fault, with the daemon API's field names.
type RequestError = driver.RequestError

// ErrKind classifies why a call was refused before its command ran; the
// daemon maps it to a gRPC code.
type ErrKind = driver.ErrKind

// The kinds of RequestError.
const (
	// Invalid: the request is malformed (InvalidArgument).
	Invalid = driver.Invalid
	// NotFound: something the request names does not exist, such as its
	// working directory or program (NotFound).
	NotFound = driver.NotFound
	// TooLarge: the request exceeds a size limit (ResourceExhausted).
	TooLarge = driver.TooLarge
	// Busy: no session became free within the queue timeout
	// (ResourceExhausted).
	Busy = driver.Busy
	// Unavailable: the pool is stopping or stopped (Unavailable).
	Unavailable = driver.Unavailable
	// StartFailed: no session could be started for the call, for example
	// because the init script failed (FailedPrecondition).
	StartFailed = driver.StartFailed
)

// ErrClosed is the cause of Unavailable errors: the pool has stopped
// accepting calls.
var ErrClosed = driver.ErrClosed

// ErrQueueTimeout is the cause of Busy errors.
var ErrQueueTimeout = driver.ErrQueueTimeout
