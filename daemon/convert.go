package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/mothreads/mothreads/pool"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// rpcKind says which RPC a Command came with: each allows different fields.
type rpcKind int

const (
	kindExec rpcKind = iota
	kindAttach
	kindRun
)

// toRequest checks cmd for what the pool does not check (unknown fields,
// durations, terminal sizes, fields the RPC does not allow) and converts it.
// Every error is an InvalidArgument status naming the field. The pool
// checks the rest (empty command, NUL bytes, variable names, sizes) when the
// call starts.
func toRequest(cmd *pb.Command, kind rpcKind) (*pool.Request, error) {
	if cmd == nil {
		return nil, invalid("command", "missing")
	}
	if f, num, ok := unknownField(cmd.ProtoReflect(), ""); ok {
		return nil, invalid(orCommand(f), "unknown field number %d: this daemon does not know it (is it older than the client?)", num)
	}
	// The text fields are bytes on the wire (any byte but NUL is valid in
	// arguments, scripts, paths and the environment); Go strings carry them
	// as they are.
	req := &pool.Request{
		Argv:    strs(cmd.GetArgv()),
		Script:  string(cmd.GetScript()),
		Dir:     string(cmd.GetCwd()),
		BaseDir: string(cmd.GetBaseCwd()),
		Env:     strs(cmd.GetEnv()),
		Session: cmd.GetSession(),
	}
	if be := cmd.GetBaseEnv(); be != nil {
		req.BaseEnv, req.HasBaseEnv = strs(be.GetVars()), true
		for i, kv := range req.BaseEnv {
			if strings.IndexByte(kv, 0) >= 0 {
				return nil, invalid(fmt.Sprintf("base_env.vars[%d]", i), "contains a NUL byte")
			}
		}
	}
	var err error
	if req.Timeout, err = duration("timeout", cmd.GetTimeout()); err != nil {
		return nil, err
	}
	if req.KillGrace, err = duration("kill_grace", cmd.GetKillGrace()); err != nil {
		return nil, err
	}
	if req.SessionIdleTimeout, err = duration("session_idle_timeout", cmd.GetSessionIdleTimeout()); err != nil {
		return nil, err
	}
	req.OpenStdin = cmd.GetOpenStdin()
	if data := cmd.GetStdinData(); len(data) > 0 {
		if kind == kindAttach {
			return nil, invalid("stdin_data", "Attach streams stdin: send stdin messages instead")
		}
		req.Stdin = bytes.NewReader(data)
	}
	if tty := cmd.GetTty(); tty != nil {
		if kind != kindAttach {
			return nil, invalid("tty", "a terminal needs Attach")
		}
		size, err := windowSize("tty", tty)
		if err != nil {
			return nil, err
		}
		req.TTY = &size
	}
	return req, nil
}

// maxArgLen is the longest single argument or environment entry Linux
// passes to a new program (MAX_ARG_STRLEN: 32 pages of 4 KiB).
const maxArgLen = 32 * 4096

// startError turns the pool's failure to start req's program into a gRPC
// status. E2BIG (the program's arguments and environment are over the
// kernel's limits) is the request's fault: InvalidArgument naming the entry
// over MAX_ARG_STRLEN, or argv when it is the whole that is too big, as a
// shell reports "Argument list too long" (L6: it was Internal).
func startError(op string, req *pool.Request, err error) error {
	if !errors.Is(err, syscall.E2BIG) {
		return toStatus(op, err)
	}
	for i, a := range req.Argv {
		if len(a) > maxArgLen {
			return invalid(fmt.Sprintf("argv[%d]", i), "argument of %d bytes: the system passes at most %d bytes per argument to a program (E2BIG)", len(a), maxArgLen)
		}
	}
	for i, kv := range req.Env {
		if len(kv) > maxArgLen {
			return invalid(fmt.Sprintf("env[%d]", i), "entry of %d bytes: the system passes at most %d bytes per variable to a program (E2BIG)", len(kv), maxArgLen)
		}
	}
	for i, kv := range req.BaseEnv {
		if len(kv) > maxArgLen {
			return invalid(fmt.Sprintf("base_env.vars[%d]", i), "entry of %d bytes: the system passes at most %d bytes per variable to a program (E2BIG)", len(kv), maxArgLen)
		}
	}
	return invalid("argv", "argument list too long: the %d arguments and the environment are over the system's limit for a new program (E2BIG)", len(req.Argv))
}

// strs converts repeated bytes to strings; nil stays nil.
func strs(b [][]byte) []string {
	if b == nil {
		return nil
	}
	s := make([]string, len(b))
	for i, v := range b {
		s[i] = string(v)
	}
	return s
}

// duration converts a proto duration; nil is zero.
func duration(field string, d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, invalid(field, "invalid duration: %v", err)
	}
	v := d.AsDuration()
	if v < 0 {
		return 0, invalid(field, "negative duration %v", v)
	}
	return v, nil
}

// windowSize converts a terminal size, which must be 1x1 to 65535x65535.
func windowSize(field string, w *pb.WindowSize) (pool.WindowSize, error) {
	r, c := w.GetRows(), w.GetCols()
	if r == 0 || c == 0 || r > 0xffff || c > 0xffff {
		return pool.WindowSize{}, invalid(field, "window size %dx%d is not within 1x1 and 65535x65535", r, c)
	}
	return pool.WindowSize{Rows: uint16(r), Cols: uint16(c)}, nil
}

// unknownField finds a field that the message (or a message set in it)
// carries but this daemon's API does not define, and returns the path of
// the message holding it ("" for the top one) and its field number.
func unknownField(m protoreflect.Message, path string) (string, protoreflect.FieldNumber, bool) {
	if raw := m.GetUnknown(); len(raw) > 0 {
		num, _, _ := protowire.ConsumeTag(raw)
		return path, num, true
	}
	var (
		found   bool
		where   string
		fieldNo protoreflect.FieldNumber
	)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
			return true
		}
		sub := string(fd.Name())
		if path != "" {
			sub = path + "." + sub
		}
		where, fieldNo, found = unknownField(v.Message(), sub)
		return !found
	})
	return where, fieldNo, found
}

func orCommand(f string) string {
	if f == "" {
		return "command"
	}
	return f
}

// exited converts a result.
func exited(r *pool.Result) *pb.Exited {
	return &pb.Exited{
		ExitCode:    int32(r.ExitCode),
		Signal:      int32(r.Signal),
		CoreDumped:  r.CoreDumped,
		TimedOut:    r.TimedOut,
		Cancelled:   r.Cancelled,
		SessionLost: r.SessionLost,
		Interrupted: r.Interrupted,
		Message:     validText(r.Message),
		Session:     r.Session,
		Pid:         int32(r.PID),
		QueuedAt:    timestamp(r.Queued),
		StartedAt:   timestamp(r.Started),
		FinishedAt:  timestamp(r.Finished),
	}
}

// lost is the Exited of a call that ended without a result after its
// command started: its session failed under it.
func lost(c *pool.Call, err error) *pb.Exited {
	return &pb.Exited{
		ExitCode:    -1,
		SessionLost: true,
		Message:     validText(err.Error()),
		Session:     c.Session(),
		Pid:         int32(c.PID()),
		QueuedAt:    timestamp(c.Queued()),
		StartedAt:   timestamp(c.Started()),
		FinishedAt:  timestamppb.Now(),
	}
}

func started(c *pool.Call) *pb.ExecEvent {
	return &pb.ExecEvent{Event: &pb.ExecEvent_Started{Started: &pb.Started{
		Session:   c.Session(),
		Pid:       int32(c.PID()),
		QueuedAt:  timestamp(c.Queued()),
		StartedAt: timestamp(c.Started()),
	}}}
}

// validText is s with every byte that is not part of valid UTF-8 written
// as \xNN: proto string fields (messages, error details) must be UTF-8,
// and a message can quote a path or a name that is not.
func validText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, "\\x%02x", s[i])
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func dur(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

// statusResponse converts the pool's figures.
func statusResponse(st pool.Stats, version string, pid int, startedAt time.Time, serving bool) *pb.StatusResponse {
	return &pb.StatusResponse{
		Version:   version,
		Pid:       int32(pid),
		StartedAt: timestamp(startedAt),
		Serving:   serving,
		Pool: &pb.PoolStatus{
			SessionsIdle:         int32(st.SessionsIdle),
			SessionsBusy:         int32(st.SessionsBusy),
			SessionsStarting:     int32(st.SessionsStarting),
			StickySessions:       int32(st.StickySessions),
			QueueLength:          int32(st.QueueLength),
			SessionsSpawned:      st.SessionsSpawned,
			SessionsRecycled:     st.SessionsRecycled,
			SessionsReplaced:     st.SessionsReplaced,
			SessionStartFailures: st.SessionStartFailures,
			MinIdle:              int32(st.MinIdle),
			MaxSessions:          int32(st.MaxSessions),
			QueueWaitP50:         dur(st.QueueWaitP50),
			QueueWaitP99:         dur(st.QueueWaitP99),
			QueueWaitMax:         dur(st.QueueWaitMax),
		},
		Calls: &pb.CallStatus{
			Started:     st.CallsStarted,
			InFlight:    int64(st.InFlight),
			Ok:          st.CallsOK,
			Failed:      st.CallsFailed,
			TimedOut:    st.CallsTimedOut,
			Cancelled:   st.CallsCancelled,
			SessionLost: st.CallsSessionLost,
			Rejected:    st.CallsRejected,
			LatencyP50:  dur(st.LatencyP50),
			LatencyP90:  dur(st.LatencyP90),
			LatencyP99:  dur(st.LatencyP99),
		},
	}
}
