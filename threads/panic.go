package threads

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
)

// ErrGoexit is the error of a thread whose body called runtime.Goexit (as
// t.FailNow and log.Fatal-style helpers that end only the goroutine do)
// instead of returning. The thread still finishes: its children are
// stopped and joined and Stopped fires, as when a body returns.
var ErrGoexit = errors.New("threads: the body called runtime.Goexit")

// PanicError is the error of a thread whose body panicked: the panic value,
// the callers and the stack of the goroutine where it happened. It is what
// sourcegraph/conc's panics.Recovered is, as an error: Unwrap returns the
// value if it is an error, so errors.Is and errors.As see through it.
//
// Error gives the value on the first line and the stack on the following
// lines, starting at the frame that panicked; a log handler that quotes
// values (slog's text and JSON handlers) keeps it on one line, with the
// stack escaped. The seed's argument for threads over async is that stack
// traces are kept: they are, all the way to the log and to Main's error.
type PanicError struct {
	// Value is the value given to panic.
	Value any
	// Callers are the program counters of the panicking goroutine, as
	// runtime.Callers gives them (see runtime.CallersFrames), from the frame
	// that panicked outwards.
	Callers []uintptr
	// Stack is the formatted stack of the panicking goroutine, from the
	// frame that panicked outwards, as debug.Stack formats it.
	Stack []byte
}

// newPanicError makes a PanicError for value v; it must be called from the
// deferred function that recovered v.
func newPanicError(v any) *PanicError {
	var pcs [64]uintptr
	// Skip runtime.Callers, newPanicError, the deferred function and the
	// runtime's panic frame: Callers starts at the frame that panicked.
	n := runtime.Callers(4, pcs[:])
	return &PanicError{Value: v, Callers: pcs[:n:n], Stack: trimStack(debug.Stack())}
}

// trimStack drops the frames of the recovery itself (debug.Stack, the
// deferred function, panic) from a stack, keeping its goroutine line.
func trimStack(stack []byte) []byte {
	header, rest, ok := bytes.Cut(stack, []byte("\n"))
	if !ok {
		return stack
	}
	i := bytes.Index(rest, []byte("\npanic("))
	if i < 0 {
		return stack
	}
	frames := rest[i+1:]
	// Skip the panic frame's two lines: the call and its file:line.
	for range 2 {
		_, after, ok := bytes.Cut(frames, []byte("\n"))
		if !ok {
			return stack
		}
		frames = after
	}
	return append(append(header[:len(header):len(header)], '\n'), frames...)
}

// Error returns "panic: VALUE", then the stack on the following lines.
func (p *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n%s", p.Value, bytes.TrimRight(p.Stack, "\n"))
}

// Unwrap returns the panic value if it is an error, and nil otherwise.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// AsError returns p as an error, and a nil error (not a nil *PanicError in an
// error) if p is nil.
func (p *PanicError) AsError() error {
	if p == nil {
		return nil
	}
	return p
}
