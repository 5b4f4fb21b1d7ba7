package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc/codes"
)

// Sticky sessions (Request.Session) are per daemon and belong to whoever
// may call it: any caller the daemon admits may list, interrupt, feed, read
// and close any of its sessions. The methods below route a named session's
// call as its other calls go (to the daemon it was created on, in a
// fleet); their errors are as for Run: a *RequestError with Field
// "session" and Code NotFound for a session that does not exist
// (errors.Is(err, ErrNoSession)), a *DaemonError when the daemon is
// unreachable.

// ErrNoSession is matched (with errors.Is) by the *RequestError of a call
// about a sticky session that does not exist (it was never created, was
// closed, expired or its shell ended).
var ErrNoSession = errors.New("mothreads: no such sticky session")

// SessionInfo describes a sticky session.
type SessionInfo struct {
	Name string
	// PID is its shell's process id (0 while it starts).
	PID int
	// Dir is its shell's current directory.
	Dir string
	// CreatedAt is when it was created; LastUsedAt when its last call ended
	// (or started, while Busy).
	CreatedAt, LastUsedAt time.Time
	// Calls counts the calls it ran.
	Calls int64
	// Busy says a call runs in it; Waiting says what that call's command is
	// blocked reading: "stdin" (a call with Request.OpenStdin; see Input),
	// "terminal" (see Input's tty), or "".
	Busy    bool
	Waiting string
	// IdleTimeout is how long it may stay unused before the daemon closes
	// it (0: never).
	IdleTimeout time.Duration
	// Jobs are its background jobs (and, while Busy, its foreground job).
	Jobs []Job
	// LogBytes counts what its background jobs wrote after their calls
	// ended (see Logs; the daemon keeps the last MiB).
	LogBytes int64
}

// Job is a job of a sticky session: a process group its shell started.
type Job struct {
	PGID int
	PIDs []int
	// State is "running" or "stopped".
	State string
	// Command is the group leader's command line, for display.
	Command string
}

func sessionFromProto(s *pb.SessionInfo) SessionInfo {
	info := SessionInfo{
		Name:        s.GetName(),
		PID:         int(s.GetPid()),
		Dir:         string(s.GetCwd()),
		CreatedAt:   asTime(s.GetCreatedAt()),
		LastUsedAt:  asTime(s.GetLastUsedAt()),
		Calls:       s.GetCalls(),
		Busy:        s.GetBusy(),
		IdleTimeout: asDuration(s.GetIdleTimeout()),
		LogBytes:    s.GetLogBytes(),
	}
	switch s.GetWaiting() {
	case pb.InputWait_INPUT_WAIT_STDIN:
		info.Waiting = "stdin"
	case pb.InputWait_INPUT_WAIT_TERMINAL:
		info.Waiting = "terminal"
	}
	for _, j := range s.GetJobs() {
		job := Job{PGID: int(j.GetPgid()), State: j.GetState(), Command: j.GetCommand()}
		for _, pid := range j.GetPids() {
			job.PIDs = append(job.PIDs, int(pid))
		}
		info.Jobs = append(info.Jobs, job)
	}
	return info
}

// sessionsFromProto converts a list; an empty one is nil.
func sessionsFromProto(list []*pb.SessionInfo) []SessionInfo {
	if len(list) == 0 {
		return nil
	}
	out := make([]SessionInfo, len(list))
	for i, s := range list {
		out[i] = sessionFromProto(s)
	}
	return out
}

// Sessions describes the daemon's sticky sessions, sorted by name. In a
// fleet it asks one daemon (whichever the balancer picks); use Session for
// a named one.
func (c *Client) Sessions(ctx context.Context) ([]SessionInfo, error) {
	resp, err := c.rpc.ListSessions(ctx, &pb.ListSessionsRequest{})
	if err != nil {
		return nil, c.convertErr(ctx, "list sessions", err)
	}
	return sessionsFromProto(resp.GetSessions()), nil
}

// Session describes the sticky session name.
func (c *Client) Session(ctx context.Context, name string) (*SessionInfo, error) {
	rctx, rpc := c.route(ctx, name)
	resp, err := rpc.ListSessions(rctx, &pb.ListSessionsRequest{Session: name})
	if err != nil {
		return nil, c.convertErr(ctx, "list sessions", err)
	}
	if len(resp.GetSessions()) != 1 {
		return nil, &DaemonError{Op: "list sessions", Target: c.target, Code: codes.Internal,
			Err: fmt.Errorf("the daemon answered with %d sessions for one name", len(resp.GetSessions()))}
	}
	info := sessionFromProto(resp.GetSessions()[0])
	return &info, nil
}

// CloseSession closes the sticky session name: a call running in it is
// cancelled (it ends Cancelled), and its shell and every background job it
// started are stopped. The next call that names it starts a new session.
func (c *Client) CloseSession(ctx context.Context, name string) error {
	rctx, rpc := c.route(ctx, name)
	_, err := rpc.CloseSession(rctx, &pb.CloseSessionRequest{Session: name})
	if err == nil {
		c.ForgetSession(name)
	}
	return c.convertErr(ctx, "close session", err)
}

// Interrupt interrupts the call running in the sticky session name, as ^C
// on a terminal does: its foreground job gets SIGINT and the rest of its
// script is skipped. That call's Result has Interrupted set (and ExitCode
// 130 when the job died of the SIGINT); the session keeps its state and
// background jobs. It fails (InvalidArgument, field "session") when the
// session runs no call.
func (c *Client) Interrupt(ctx context.Context, name string) error {
	rctx, rpc := c.route(ctx, name)
	_, err := rpc.Interrupt(rctx, &pb.InterruptRequest{Session: name})
	return c.convertErr(ctx, "interrupt", err)
}

// Input writes data to the command running in the sticky session name: to
// its stdin when its call set Request.OpenStdin, or, with tty, to the
// session's terminal (where programs that open /dev/tty prompt). eof closes
// that input after data (^D on the terminal). A write the command does not
// take within a few seconds fails rather than blocking. SessionInfo.Waiting
// says whether the command waits for input.
func (c *Client) Input(ctx context.Context, name string, data []byte, eof, tty bool) error {
	rctx, rpc := c.route(ctx, name)
	_, err := rpc.Input(rctx, &pb.InputRequest{Session: name, Data: data, Eof: eof, Tty: tty})
	return c.convertErr(ctx, "input", err)
}

// Logs copies to w what the background jobs of the sticky session name
// wrote after the calls that started them ended, from offset (a byte
// offset into everything they ever wrote; negative: the last -offset
// bytes; 0: the oldest byte the daemon keeps), and returns the offset to
// resume from. With follow it goes on copying what they write later until
// the session closes (then it returns nil), ctx ends, or the daemon shuts
// down. Bytes pushed out of the daemon's ring (it keeps the last MiB)
// before they were read are skipped: the returned skipped counts them.
func (c *Client) Logs(ctx context.Context, name string, offset int64, follow bool, w io.Writer) (next, skipped int64, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rctx, rpc := c.route(sctx, name)
	stream, err := rpc.Logs(rctx, &pb.LogsRequest{Session: name, Offset: offset, Follow: follow})
	if err != nil {
		return offset, 0, c.convertErr(ctx, "logs", err)
	}
	next = offset
	first := true
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return next, skipped, nil
		}
		if err != nil {
			return next, skipped, c.convertErr(ctx, "logs", err)
		}
		if at := m.GetOffset(); at > next && (next >= 0 || !first) {
			skipped += at - next
		}
		first = false
		if _, err := w.Write(m.GetData()); err != nil {
			return m.GetOffset(), skipped, err
		}
		next = m.GetNextOffset()
	}
}
