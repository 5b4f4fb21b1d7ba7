package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mothreads/mothreads/pool"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// errAborted is the cancel cause of calls cut by Shutdown with skip_drain.
var errAborted = errors.New("the daemon is shutting down without drain")

// callContext returns the context a call runs under: parent (the RPC's,
// which ends when the client cancels or goes away), cancelled as well by
// cancel (with its cause) and by Shutdown with skip_drain.
func (d *daemon) callContext(parent context.Context) (ctx context.Context, cancel context.CancelCauseFunc) {
	ctx, cancelCause := context.WithCancelCause(parent)
	stop := d.abort.Then(func() { cancelCause(errAborted) })
	return ctx, func(cause error) {
		stop()
		cancelCause(cause)
	}
}

// checkTop refuses a request message that carries fields this daemon does
// not know, outside its Command (which toRequest checks).
func checkTop(m protoreflect.Message) error {
	if raw := m.GetUnknown(); len(raw) > 0 {
		f, _, _ := protowire.ConsumeTag(raw)
		return invalid("request", "unknown field number %d: this daemon does not know it (is it older than the client?)", f)
	}
	return nil
}

// Exec runs a command and streams its events: Started, output chunks as
// they come, Exited. See events for the flow control.
func (d *daemon) Exec(req *pb.ExecRequest, stream pb.Mothreads_ExecServer) error {
	if err := checkTop(req.ProtoReflect()); err != nil {
		return err
	}
	preq, err := toRequest(req.GetCommand(), kindExec)
	if err != nil {
		return err
	}
	if n := int64(len(req.GetCommand().GetStdinData())); n > 0 {
		l := &lease{acct: d.budget.account(stream.Context())}
		if !l.grow(n) {
			return errBudget("stdin_data", l.acct, n)
		}
		defer l.end()
	}
	ev := newEvents(stream)
	preq.Stdout, preq.Stderr = ev.writer(false), ev.writer(true)
	ctx, cancel := d.callContext(stream.Context())
	defer cancel(context.Canceled)
	call, err := d.pool.Start(ctx, preq)
	if err != nil {
		ev.end(nil)
		return startError("exec", preq, err)
	}
	return d.stream(ctx, ev, call, "exec", nil)
}

// stream sends Started, lets the output through, waits for the call, runs
// ended (if not nil), and sends Exited. A call that its client's protocol
// error cancelled (Attach) fails with that error instead.
func (d *daemon) stream(ctx context.Context, ev *events, call *pool.Call, op string, ended func()) error {
	_ = ev.started(started(call)) // on failure the client is gone: ctx cancels the call
	res, err := call.Wait()
	if ended != nil {
		ended()
	}
	var re *pool.RequestError
	var pe protocolError
	var last *pb.Exited
	switch {
	case errors.As(context.Cause(ctx), &pe):
		ev.end(nil)
		return pe.err
	case errors.As(err, &re):
		ev.end(nil)
		return toStatus(op, err)
	case err != nil:
		d.logger(callThread(ctx)).Warn("call ended without a result", "op", op, "session", call.Session(), "err", err)
		last = lost(call, err)
	default:
		last = exited(res)
		d.logCall(ctx, op, res)
	}
	if err := ev.end(&pb.ExecEvent{Event: &pb.ExecEvent_Exited{Exited: last}}); err != nil {
		return toStatus(op, err)
	}
	return nil
}

// Run runs a command to completion and returns its output, keeping the
// first limit bytes of each stream (limit: output_limit, at most and by
// default Config.RunOutputLimit) and saying whether more came. The
// command's output is read to its end either way, so a command is never
// blocked or killed for printing too much. What Run buffers, and its
// response until the connection has written it, count against the memory
// budget (see budget.go): a call is refused when the budget or its
// connection's share is spent, and its output is cut short when it fills
// them while the command runs.
func (d *daemon) Run(ctx context.Context, req *pb.RunRequest) (*pb.RunResponse, error) {
	if err := checkTop(req.ProtoReflect()); err != nil {
		return nil, err
	}
	limit := req.GetOutputLimit()
	switch {
	case limit < 0:
		return nil, invalid("output_limit", "negative limit %d", limit)
	case limit == 0 || limit > d.cfg.RunOutputLimit:
		limit = d.cfg.RunOutputLimit
	}
	preq, err := toRequest(req.GetCommand(), kindRun)
	if err != nil {
		return nil, err
	}
	l := &lease{acct: d.budget.account(ctx)}
	if !l.reserve(runAdmission) {
		return nil, errBudget("output_limit", l.acct, runAdmission)
	}
	if n := int64(len(req.GetCommand().GetStdinData())); n > 0 && !l.grow(n) {
		l.end()
		return nil, errBudget("stdin_data", l.acct, n)
	}
	stdout, stderr := &capBuffer{limit: int(limit), lease: l}, &capBuffer{limit: int(limit), lease: l}
	preq.Stdout, preq.Stderr = stdout, stderr
	cctx, cancel := d.callContext(ctx)
	defer cancel(context.Canceled)
	res, err := d.pool.Run(cctx, preq)
	// The request may stay reachable after the call (through the context of
	// a stream whose client does not read, or the session's last call):
	// let go of the buffers and the stdin it points to, so that only the
	// response, which the budget counts, holds the output.
	preq.Stdin, preq.Stdout, preq.Stderr = nil, nil, nil
	if err != nil {
		l.end()
		return nil, startError("run", preq, err)
	}
	d.logCall(ctx, "run", res)
	resp := &pb.RunResponse{Exited: exited(res)}
	var cutOut, cutErr bool
	resp.Stdout, resp.StdoutTruncated, cutOut = stdout.bytes()
	resp.Stderr, resp.StderrTruncated, cutErr = stderr.bytes()
	if cutOut || cutErr {
		resp.Exited.Message = joinMessage(resp.Exited.Message,
			fmt.Sprintf("output truncated: the daemon's memory budget for buffered output (--max-buffered, %d bytes) is spent; stream with Exec instead", d.budget.limit))
	}
	// The response stays counted until the connection has written it: a
	// client that does not read holds it in the transport, encoded (by
	// exactCodec, in a buffer of its size). What the connection writes for
	// it is a little more (message and frame headers), so the release comes
	// at the latest with its last frame.
	size := int64(proto.Size(resp))
	l.endHolding(size, size)
	return resp, nil
}

// joinMessage joins two messages with "; ", either of which may be empty.
func joinMessage(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// Status reports the pool's figures and the daemon's state.
func (d *daemon) Status(context.Context, *pb.StatusRequest) (*pb.StatusResponse, error) {
	resp := d.fleetStatus(statusResponse(d.pool.Stats(), d.cfg.Version, d.pid, d.started, d.serving.Load()))
	resp.Buffers = &pb.BufferStatus{
		HeldBytes:  d.budget.used.Load(),
		PeakBytes:  d.budget.peak.Load(),
		LimitBytes: d.budget.limit,
		Refused:    d.budget.refused.Load(),
	}
	d.stickyStatus(resp)
	return resp, nil
}

// Shutdown starts the ordered shutdown and returns. The response reaches
// the client: stopping root makes the server stop gracefully, which lets
// this call finish. With skip_drain every call in flight is cancelled at
// once (each reports Cancelled) instead of after the drain deadline; the
// tree is not forced, so the shutdown stays ordered and this response is
// not cut off by a hard stop.
func (d *daemon) Shutdown(ctx context.Context, req *pb.ShutdownRequest) (*pb.ShutdownResponse, error) {
	who := "unknown"
	if p, ok := peer.FromContext(ctx); ok {
		who = p.Addr.String()
		if pc, ok := p.AuthInfo.(peerCred); ok && pc.Known {
			who = fmt.Sprintf("pid %d uid %d", pc.PID, pc.UID)
		}
	}
	d.logger(callThread(ctx)).Info("shutdown requested", "skip_drain", req.GetSkipDrain(), "by", who)
	if req.GetSkipDrain() {
		d.skipDrain()
	}
	d.root.Stop()
	return &pb.ShutdownResponse{}, nil
}

// skipDrain cancels every call in flight now and stops root (see
// Config.SkipDrain); the server then drains within the skip-drain deadline.
func (d *daemon) skipDrain() {
	d.abort.Go()
	d.root.Stop()
}

// logCall logs a finished call at debug level. It checks the level before
// it makes the call's logger, which costs allocations on every call.
func (d *daemon) logCall(ctx context.Context, op string, r *pool.Result) {
	if !d.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	d.logger(callThread(ctx)).Debug("call finished", "op", op, "result", r.String(), "session", r.Session, "pid", r.PID,
		"queued", r.Started.Sub(r.Queued).Round(time.Microsecond), "ran", r.Finished.Sub(r.Started).Round(time.Microsecond))
}
