package client

import (
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Request is one command for the daemon to run. Exactly one of Argv and
// Script must be set; the daemon checks the request and names the offending
// field in a *RequestError.
type Request struct {
	// Argv runs a program exactly: Argv[0] is resolved as the session's shell
	// resolves a command name (functions, builtins, then PATH) and the
	// arguments are passed as they are, never re-split or expanded.
	Argv []string
	// Script is shell source text run by the session's shell.
	Script string

	// Dir is the working directory asked for explicitly. A relative Dir is
	// resolved by the daemon against the session's directory, so pass an
	// absolute one.
	Dir string
	// BaseDir is the caller's working directory, used when Dir is empty; ""
	// means the session's own. Cmd sends the caller's directory here. For a
	// sticky session, Dir applies to every call that sets it and BaseDir only
	// when the session is created.
	BaseDir string
	// Env holds KEY=VALUE entries set for this call, over everything else.
	Env []string
	// BaseEnv, when non-nil, is the environment the call starts from instead
	// of the one the session's shell was started with; an empty non-nil
	// slice starts from nothing. nil means the session's environment. As
	// with os/exec's Env, nil and empty differ.
	BaseEnv []string

	// Stdin is the command's standard input; nil means /dev/null. Exec and
	// Start stream it while the command runs, until Read returns io.EOF (then
	// the command sees end of file) or another error (the same, and Wait
	// reports the error if the command otherwise succeeded). Run reads it
	// whole first and sends it in one message.
	Stdin io.Reader

	// Timeout bounds the run time (0: the daemon's default). On expiry the
	// command's process group gets SIGTERM, then SIGKILL after KillGrace
	// (0: the daemon's default).
	Timeout   time.Duration
	KillGrace time.Duration

	// Session names a sticky session whose state persists across the calls
	// that name it; "" is an isolated call. In a sticky session a timeout
	// interrupts the command (^C: Result.Interrupted, status 130) and keeps
	// the session; background jobs outlive the call, and their later output
	// goes to the session's log (Client.Logs).
	Session string
	// SessionIdleTimeout, on the call that creates a sticky session, is how
	// long the session may stay unused before the daemon closes it (0: the
	// daemon's --sticky-idle-timeout). Later calls ignore it.
	SessionIdleTimeout time.Duration
	// OpenStdin, on a sticky call with no Stdin, gives the command a stdin
	// that stays open and that Client.Input writes to (and closes), instead
	// of the null device: for commands that prompt.
	OpenStdin bool

	// TTY, when non-nil, runs the command on a new pseudo-terminal of that
	// size; stdout and stderr then arrive merged on stdout. Exec and Start
	// only; use Process.Resize to follow the local terminal.
	TTY *WindowSize
}

// WindowSize is a terminal size in characters.
type WindowSize struct {
	Rows, Cols uint16
}

// toProto converts r; the stdin data (for Run) is set by the caller. The
// text fields travel as bytes, so any byte string (a file name or variable
// that is not UTF-8) reaches the command exactly.
func (r *Request) toProto() *pb.Command {
	cmd := &pb.Command{
		Argv:    byteSlices(r.Argv),
		Script:  bytesOf(r.Script),
		Cwd:     bytesOf(r.Dir),
		BaseCwd: bytesOf(r.BaseDir),
		Env:     byteSlices(r.Env),
		Session: r.Session,
	}
	if r.BaseEnv != nil {
		cmd.BaseEnv = &pb.BaseEnv{Vars: byteSlices(r.BaseEnv)}
	}
	if r.Timeout != 0 {
		cmd.Timeout = durationpb.New(r.Timeout)
	}
	if r.KillGrace != 0 {
		cmd.KillGrace = durationpb.New(r.KillGrace)
	}
	if r.TTY != nil {
		cmd.Tty = r.TTY.toProto()
	}
	if r.SessionIdleTimeout != 0 {
		cmd.SessionIdleTimeout = durationpb.New(r.SessionIdleTimeout)
	}
	cmd.OpenStdin = r.OpenStdin
	return cmd
}

// bytesOf is s as bytes; "" is nil (an unset field).
func bytesOf(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// byteSlices is ss as bytes; nil stays nil.
func byteSlices(ss []string) [][]byte {
	if ss == nil {
		return nil
	}
	b := make([][]byte, len(ss))
	for i, s := range ss {
		b[i] = []byte(s)
	}
	return b
}

func (w WindowSize) toProto() *pb.WindowSize {
	return &pb.WindowSize{Rows: uint32(w.Rows), Cols: uint32(w.Cols)}
}

// Result is how a call ended. Exactly one holds: the command exited
// (Signal == 0 and !SessionLost; ExitCode is its status), it was killed by a
// signal (Signal > 0, ExitCode -1), or the call ended without a status
// (SessionLost, ExitCode -1). TimedOut and Cancelled say why it was killed,
// when it was.
type Result struct {
	ExitCode   int
	Signal     syscall.Signal
	CoreDumped bool
	// TimedOut: the daemon killed the command when Request.Timeout (or its
	// default) expired.
	TimedOut bool
	// Cancelled: the call was cancelled (the caller's context, or a lost
	// connection) and the command killed.
	Cancelled bool
	// SessionLost: the session died or was replaced under the command, so
	// there is no exit status. Message says more.
	SessionLost bool
	// Interrupted: a sticky session's command was interrupted (^C, by
	// Client.Interrupt or its timeout, which sets TimedOut too) and the rest
	// of its script skipped; the session and its state remain. ExitCode is
	// then what the script returned, 130 when its job died of the SIGINT.
	Interrupted bool
	// Message explains any of the above in words; it may be empty.
	Message string
	// Session names the session that ran the call; PID is the command's main
	// process (its process group leader) on the daemon's host.
	Session string
	PID     int
	// QueuedAt is when the daemon received the call, StartedAt when the
	// command started, FinishedAt when the call ended (daemon clock; zero
	// when unknown).
	QueuedAt, StartedAt, FinishedAt time.Time
}

// Success reports whether the command exited with status 0 on its own.
func (r *Result) Success() bool {
	return r.exited() && r.ExitCode == 0 && !r.TimedOut && !r.Cancelled && !r.Interrupted
}

func (r *Result) exited() bool { return r.Signal == 0 && !r.SessionLost && r.ExitCode >= 0 }

// String describes the result as os/exec's ProcessState does ("exit status
// 1", "signal: killed"), with " (core dumped)", " (timed out)",
// " (cancelled)" or " (interrupted)" appended when they apply; a lost session reads
// "session lost: " and the daemon's message.
func (r *Result) String() string {
	var s string
	switch {
	case r.Signal != 0:
		s = "signal: " + r.Signal.String()
	case r.SessionLost:
		s = joinNonEmpty(": ", "session lost", r.Message)
	default:
		s = fmt.Sprintf("exit status %d", r.ExitCode)
	}
	if r.CoreDumped {
		s += " (core dumped)"
	}
	if r.TimedOut {
		s += " (timed out)"
	}
	if r.Cancelled {
		s += " (cancelled)"
	}
	if r.Interrupted {
		s += " (interrupted)"
	}
	return s
}

// resultFromProto converts e; fields e leaves unset come from started.
func resultFromProto(e *pb.Exited, started *pb.Started) *Result {
	r := &Result{
		ExitCode:    int(e.GetExitCode()),
		Signal:      syscall.Signal(e.GetSignal()),
		CoreDumped:  e.GetCoreDumped(),
		TimedOut:    e.GetTimedOut(),
		Cancelled:   e.GetCancelled(),
		SessionLost: e.GetSessionLost(),
		Interrupted: e.GetInterrupted(),
		Message:     e.GetMessage(),
		Session:     e.GetSession(),
		PID:         int(e.GetPid()),
		QueuedAt:    asTime(e.GetQueuedAt()),
		StartedAt:   asTime(e.GetStartedAt()),
		FinishedAt:  asTime(e.GetFinishedAt()),
	}
	if started != nil {
		r.fillFromStarted(started)
	}
	return r
}

// fillFromStarted sets the fields still unset from the Started event.
func (r *Result) fillFromStarted(s *pb.Started) {
	if r.Session == "" {
		r.Session = s.GetSession()
	}
	if r.PID == 0 {
		r.PID = int(s.GetPid())
	}
	if r.QueuedAt.IsZero() {
		r.QueuedAt = asTime(s.GetQueuedAt())
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = asTime(s.GetStartedAt())
	}
}

// asTime is t as a time.Time, the zero time when t is nil.
func asTime(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

// asDuration is d as a time.Duration, zero when d is nil.
func asDuration(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

// RunResult is the result of Client.Run: the Result and the buffered output.
type RunResult struct {
	Result
	Stdout, Stderr []byte
	// StdoutTruncated and StderrTruncated say that the stream was longer
	// than the output limit and was cut to it.
	StdoutTruncated, StderrTruncated bool
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
