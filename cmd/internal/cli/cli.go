// Package cli runs a cobra command tree as a program: it turns what the
// commands return into an exit status and a message on stderr, the same way
// for both binaries.
//
// A command reports its outcome by returning nil (status 0), an *ExitError
// (its status, and its message unless the error inside is nil), a
// *UsageError (the program's usage status), or any other error (the
// program's failure status). Errors that cobra itself finds before a
// command runs (an unknown flag or command, a bad flag value, wrong
// arguments) are usage errors.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// ExitError ends the program with Code; Err, when not nil, is printed on
// stderr first. A command that has already said everything (a remote
// command's own exit status) returns one with a nil Err.
type ExitError struct {
	Code int
	Err  error
}

// Exit returns an *ExitError with code and err.
func Exit(code int, err error) error { return &ExitError{Code: code, Err: err} }

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// UsageError is a mistake in how the program was called: it ends the
// program with the usage status, and the message is followed by a hint to
// run --help.
type UsageError struct{ Err error }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

func (e *UsageError) Error() string { return e.Err.Error() }

func (e *UsageError) Unwrap() error { return e.Err }

// Program says how a binary reports errors.
type Program struct {
	// Name prefixes every message ("mothreads: ...").
	Name string
	// UsageCode is the status for usage errors; FailCode for any other
	// error that carries no status of its own.
	UsageCode, FailCode int
	// Stdout and Stderr are the program's output streams.
	Stdout, Stderr io.Writer
}

// Execute runs root with args and returns the exit status. It sets root's
// (and every subcommand's) output streams and silences cobra's own error
// printing; it may be called once per command tree.
func (p Program) Execute(ctx context.Context, root *cobra.Command, args []string) int {
	ran := false
	var cmdRan *cobra.Command
	var wrap func(c *cobra.Command)
	wrap = func(c *cobra.Command) {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, a []string) error {
				ran, cmdRan = true, cmd
				return run(cmd, a)
			}
		}
		for _, sub := range c.Commands() {
			wrap(sub)
		}
	}
	wrap(root)
	root.SilenceErrors, root.SilenceUsage = true, true
	root.SetArgs(args)
	root.SetOut(p.Stdout)
	root.SetErr(p.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })

	found, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	if cmdRan != nil {
		found = cmdRan
	}
	var exit *ExitError
	var usage *UsageError
	switch {
	case errors.As(err, &exit):
		if exit.Err != nil {
			p.print(exit.Err)
		}
		return exit.Code
	case errors.As(err, &usage) || !ran:
		p.print(err)
		if found != nil {
			fmt.Fprintf(p.Stderr, "Run '%s --help' for usage.\n", found.CommandPath())
		}
		return p.UsageCode
	default:
		p.print(err)
		return p.FailCode
	}
}

// print writes err on stderr after the program's name, unless the message
// starts with it already (the client's errors start with "mothreads: ").
func (p Program) print(err error) {
	msg := err.Error()
	if !strings.HasPrefix(msg, p.Name+": ") {
		msg = p.Name + ": " + msg
	}
	fmt.Fprintln(p.Stderr, msg)
}
