package driver

import (
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"
)

// Request is one call: what to run, where, with what input, and where its
// output goes. Exactly one of Argv and Script must be set.
type Request struct {
	// Argv runs a program exactly: Argv[0] is resolved as the session's shell
	// resolves a command name (functions, builtins, then PATH), and the
	// arguments are passed as they are, never re-split or expanded.
	Argv []string
	// Script is shell source text run by the session's shell.
	Script string

	// Dir is the working directory for this call. Empty means BaseDir, and
	// if that is empty too, the session's own directory. For a sticky
	// session, Dir applies to every call that sets it, BaseDir only when the
	// session is created.
	Dir string
	// BaseDir is the caller's working directory, the default for Dir.
	BaseDir string

	// Env holds KEY=VALUE entries set for this call, over everything else.
	Env []string
	// BaseEnv, when HasBaseEnv is set, is the environment the call starts
	// from (the caller's own, as os/exec would pass it) instead of the one
	// the session's shell was started with. What the session's init script
	// changed in the environment applies over it either way, then Env does.
	// Entries whose names are not shell identifiers are skipped. For a sticky
	// session, BaseEnv applies only when the session is created.
	BaseEnv    []string
	HasBaseEnv bool

	// Stdin is the command's standard input; nil means /dev/null. It is read
	// until EOF or until the command ends, whichever is first.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output as it is produced, in
	// chunks, from one goroutine each; nil discards. A writer that blocks
	// stalls the command once the pipe between them is full, so memory stays
	// bounded whatever the command writes. With a TTY both streams arrive
	// merged on Stdout.
	Stdout, Stderr io.Writer

	// Timeout bounds the command's run time; zero means the pool's
	// DefaultTimeout (which may be zero: no bound).
	Timeout time.Duration
	// KillGrace is how long the command has between SIGTERM and SIGKILL when
	// it is timed out or cancelled; zero means the pool's KillGrace, which
	// is also the most it may be (a longer one is an Invalid error): a
	// call's grace bounds how long a shutdown waits for it.
	KillGrace time.Duration

	// Session names a sticky session: state persists across the calls that
	// name it. Empty means an isolated call.
	Session string
	// SessionIdleTimeout, on the call that creates a sticky session, is
	// how long that session may stay unused before it is closed; zero means
	// the pool's StickyIdleTimeout.
	SessionIdleTimeout time.Duration
	// OpenStdin, for a sticky call without Stdin, gives the command a stdin
	// that stays open and that Pool.Input writes to (and closes), instead
	// of /dev/null: for commands that prompt.
	OpenStdin bool

	// TTY, when set, runs the command on a new pseudo-terminal of that size,
	// as the controlling terminal of a new session.
	TTY *WindowSize
}

// Limits bound what one request may carry.
type Limits struct {
	// MaxRequestBytes bounds the sum of the sizes of the script, arguments,
	// environment entries and paths. Zero means no bound (the pool's
	// Config makes it 4 MiB).
	MaxRequestBytes int
}

// WindowSize is a terminal size in character cells.
type WindowSize struct {
	Rows, Cols uint16
}

// Result is how a call ended.
type Result struct {
	// ExitCode is the command's exit status, or -1 if it was killed by a
	// signal or its status is unknown (SessionLost).
	ExitCode int
	// Signal is the signal that killed the command, or 0.
	Signal     syscall.Signal
	CoreDumped bool

	// TimedOut and Cancelled say that the pool killed the command, and why.
	TimedOut  bool
	Cancelled bool
	// Interrupted says that a sticky session's command was interrupted
	// (^C on its terminal) and the rest of its script skipped, and that
	// the session and its state remain.
	Interrupted bool
	// SessionLost says the call ended without a status: the session's shell
	// died under it (the command killed it, or it was killed).
	SessionLost bool
	// Message explains TimedOut, Cancelled and SessionLost in words, and
	// notes anything else the caller should know (a sticky session ended).
	Message string

	// Session names the session that ran the call; PID is the command's
	// process (group leader) id.
	Session string
	PID     int

	// Queued is when the call arrived, Started when its command started,
	// Finished when its main process ended and its output was complete.
	Queued, Started, Finished time.Time
}

// Success reports whether the command exited with status 0 on its own: a
// command the pool killed (TimedOut, Cancelled) is not a success, even if it
// exited 0 when asked to stop. It agrees with client.Result.Success.
func (r *Result) Success() bool {
	return r.ExitCode == 0 && r.Signal == 0 && !r.SessionLost && !r.TimedOut && !r.Cancelled
}

// String summarises the result for logs.
func (r *Result) String() string {
	var b strings.Builder
	switch {
	case r.SessionLost:
		b.WriteString("session lost")
	case r.Signal != 0:
		fmt.Fprintf(&b, "killed by signal %d (%v)", int(r.Signal), r.Signal)
	default:
		fmt.Fprintf(&b, "exit %d", r.ExitCode)
	}
	if r.TimedOut {
		b.WriteString(", timed out")
	}
	if r.Cancelled {
		b.WriteString(", cancelled")
	}
	if r.Message != "" {
		b.WriteString(": " + r.Message)
	}
	return b.String()
}

// Validate checks a request before it queues. Every problem names the field,
// with the daemon API's field names.
func (r *Request) Validate(limits Limits) error {
	switch {
	case len(r.Argv) == 0 && r.Script == "":
		return InvalidField("argv", "empty command: set argv or script")
	case len(r.Argv) > 0 && r.Script != "":
		return InvalidField("script", "both argv and script are set; set one")
	case len(r.Argv) > 0 && r.Argv[0] == "":
		return InvalidField("argv[0]", "empty program name")
	}
	size := len(r.Script) + len(r.Dir) + len(r.BaseDir) + len(r.Session)
	for i, a := range r.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return InvalidField(fmt.Sprintf("argv[%d]", i), "contains a NUL byte")
		}
		size += len(a) + 1
	}
	if strings.IndexByte(r.Script, 0) >= 0 {
		return InvalidField("script", "contains a NUL byte")
	}
	for _, f := range []struct{ name, v string }{{"cwd", r.Dir}, {"base_cwd", r.BaseDir}, {"session", r.Session}} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return InvalidField(f.name, "contains a NUL byte")
		}
	}
	if r.Session != "" && !validSessionName(r.Session) {
		return InvalidField("session", "name must be 1-64 letters, digits, '.', '_' or '-'")
	}
	for i, kv := range r.Env {
		if err := checkEnvEntry(kv); err != nil {
			return InvalidField(fmt.Sprintf("env[%d]", i), err.Error())
		}
		size += len(kv) + 1
	}
	for i, kv := range r.BaseEnv {
		if strings.IndexByte(kv, 0) >= 0 {
			return InvalidField(fmt.Sprintf("base_env.vars[%d]", i), "contains a NUL byte")
		}
		size += len(kv) + 1
	}
	switch {
	case r.Timeout < 0:
		return InvalidField("timeout", "negative duration")
	case r.KillGrace < 0:
		return InvalidField("kill_grace", "negative duration")
	case r.TTY != nil && (r.TTY.Rows == 0 || r.TTY.Cols == 0):
		return InvalidField("tty", "window size must be at least 1x1")
	case r.TTY != nil && r.Session != "":
		return InvalidField("tty", "a terminal cannot be attached to a sticky session")
	case r.SessionIdleTimeout < 0:
		return InvalidField("session_idle_timeout", "negative duration")
	case r.SessionIdleTimeout > 0 && r.Session == "":
		return InvalidField("session_idle_timeout", "only a sticky session (session) has an idle timeout")
	case r.OpenStdin && r.Session == "":
		return InvalidField("open_stdin", "only a sticky call (session) can keep its stdin open")
	case r.OpenStdin && r.Stdin != nil:
		return InvalidField("open_stdin", "the call has stdin already")
	}
	if limits.MaxRequestBytes > 0 && size > limits.MaxRequestBytes {
		return &RequestError{Field: "command", Kind: TooLarge,
			Problem: fmt.Sprintf("request is %d bytes, over the %d-byte limit", size, limits.MaxRequestBytes)}
	}
	return nil
}

func validSessionName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return s != ""
}

// checkEnvEntry checks one explicit KEY=VALUE entry.
func checkEnvEntry(kv string) error {
	name, _, ok := strings.Cut(kv, "=")
	switch {
	case !ok:
		return fmt.Errorf("%q is not KEY=VALUE", truncate(kv, 40))
	case !ValidEnvName(name):
		return fmt.Errorf("%q is not a valid variable name (letters, digits and '_', not starting with a digit)", truncate(name, 40))
	case strings.IndexByte(kv, 0) >= 0:
		return fmt.Errorf("value of %s contains a NUL byte", name)
	}
	return nil
}

// ValidEnvName reports whether name can be a shell variable.
func ValidEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range []byte(name) {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
