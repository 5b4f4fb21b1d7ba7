package daemon

import (
	"context"
	"fmt"

	"github.com/mothreads/mothreads/pool"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc/peer"
)

// The sticky session RPCs (issue 16). They pass through the same
// interceptors as Run (authorize, fleetCall, begin), so they have the same
// access rules: a sticky session belongs to whoever may call the daemon.
// Anyone the daemon admits (its own uid and root on the Unix socket, any
// authenticated TCP client) may list, interrupt, feed, read and close any
// session, as they may run any command as the daemon's user anyway; there is
// no per-session owner.

// sessionName checks the session field of a request: it must be set.
func sessionName(name string) (string, error) {
	if name == "" {
		return "", invalid("session", "missing: name a sticky session")
	}
	return name, nil
}

// ListSessions describes the sticky sessions, or the one named.
func (d *daemon) ListSessions(ctx context.Context, req *pb.ListSessionsRequest) (*pb.ListSessionsResponse, error) {
	if err := checkTop(req.ProtoReflect()); err != nil {
		return nil, err
	}
	if name := req.GetSession(); name != "" {
		info, ok := d.pool.Session(name)
		if !ok {
			return nil, toStatus("list sessions", noSuchSession(name))
		}
		return &pb.ListSessionsResponse{Sessions: []*pb.SessionInfo{sessionInfo(info)}}, nil
	}
	return &pb.ListSessionsResponse{Sessions: sessionInfos(d.pool.Sessions())}, nil
}

// noSuchSession is the pool's NotFound error for a session it does not
// have, for the lookups that report only a boolean.
func noSuchSession(name string) error {
	return &pool.RequestError{Field: "session", Kind: pool.NotFound, Err: pool.ErrNoSession,
		Problem: fmt.Sprintf("no sticky session %q", name)}
}

// CloseSession closes a sticky session, its running call and its jobs.
func (d *daemon) CloseSession(ctx context.Context, req *pb.CloseSessionRequest) (*pb.CloseSessionResponse, error) {
	if err := checkTop(req.ProtoReflect()); err != nil {
		return nil, err
	}
	name, err := sessionName(req.GetSession())
	if err != nil {
		return nil, err
	}
	if err := d.pool.CloseSession(name); err != nil {
		return nil, toStatus("close session", err)
	}
	d.logger(callThread(ctx)).Info("closed a sticky session on request", "session", name, "peer", peerString(ctx))
	return &pb.CloseSessionResponse{}, nil
}

// Interrupt sends ^C to the call that runs in a sticky session.
func (d *daemon) Interrupt(ctx context.Context, req *pb.InterruptRequest) (*pb.InterruptResponse, error) {
	if err := checkTop(req.ProtoReflect()); err != nil {
		return nil, err
	}
	name, err := sessionName(req.GetSession())
	if err != nil {
		return nil, err
	}
	if err := d.pool.Interrupt(name); err != nil {
		return nil, toStatus("interrupt", err)
	}
	return &pb.InterruptResponse{}, nil
}

// Input writes to the stdin (or terminal) of the call that runs in a sticky
// session. The pool fails a write that the command does not take within a
// few seconds, so the call never hangs on a command that does not read.
func (d *daemon) Input(ctx context.Context, req *pb.InputRequest) (*pb.InputResponse, error) {
	if err := checkTop(req.ProtoReflect()); err != nil {
		return nil, err
	}
	name, err := sessionName(req.GetSession())
	if err != nil {
		return nil, err
	}
	if len(req.GetData()) == 0 && !req.GetEof() {
		return nil, invalid("data", "empty: send bytes, or eof")
	}
	if err := d.pool.Input(name, req.GetData(), req.GetEof(), req.GetTty()); err != nil {
		return nil, toStatus("input", err)
	}
	return &pb.InputResponse{}, nil
}

// peerString describes the caller of ctx for the log.
func peerString(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return "unknown"
	}
	if pc, ok := p.AuthInfo.(peerCred); ok && pc.Known {
		return fmt.Sprintf("uid %d pid %d", pc.UID, pc.PID)
	}
	return p.Addr.String()
}

// sessionInfos converts the pool's session list.
func sessionInfos(list []pool.SessionInfo) []*pb.SessionInfo {
	out := make([]*pb.SessionInfo, len(list))
	for i, s := range list {
		out[i] = sessionInfo(s)
	}
	return out
}

// sessionInfo converts one session's description.
func sessionInfo(s pool.SessionInfo) *pb.SessionInfo {
	info := &pb.SessionInfo{
		Name:        s.Name,
		Pid:         int32(s.PID),
		Cwd:         []byte(s.Dir),
		CreatedAt:   timestamp(s.Created),
		LastUsedAt:  timestamp(s.LastUsed),
		Calls:       int64(s.Calls),
		Busy:        s.Busy,
		Waiting:     inputWait(s.Waiting),
		IdleTimeout: dur(s.IdleTimeout),
		LogBytes:    s.LogSize,
	}
	for _, j := range s.Jobs {
		pj := &pb.Job{Pgid: int32(j.PGID), State: j.State, Command: validText(j.Command)}
		for _, pid := range j.PIDs {
			pj.Pids = append(pj.Pids, int32(pid))
		}
		info.Jobs = append(info.Jobs, pj)
	}
	return info
}

func inputWait(w string) pb.InputWait {
	switch w {
	case "stdin":
		return pb.InputWait_INPUT_WAIT_STDIN
	case "terminal":
		return pb.InputWait_INPUT_WAIT_TERMINAL
	}
	return pb.InputWait_INPUT_WAIT_UNSPECIFIED
}

// stickyStatus adds the sticky sessions and their limits to a Status
// response. The limits are the pool's defaults as pool.Config documents
// them (MaxSticky: half of MaxSessions, at least 1; StickyIdleTimeout:
// IdleTimeout) when the daemon's config leaves them zero.
func (d *daemon) stickyStatus(resp *pb.StatusResponse) {
	maxSticky, idle := d.cfg.Pool.MaxSticky, d.cfg.Pool.StickyIdleTimeout
	if maxSticky == 0 && resp.Pool != nil {
		maxSticky = max(1, int(resp.Pool.MaxSessions)/2)
	}
	if idle == 0 {
		idle = d.cfg.Pool.IdleTimeout
	}
	if resp.Pool != nil {
		resp.Pool.MaxSticky = int32(maxSticky)
		resp.Pool.StickyIdleTimeout = dur(idle)
	}
	resp.Sessions = sessionInfos(d.pool.Sessions())
}
