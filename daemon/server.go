package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"strings"
	"time"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

// servicePrefix starts the full method names of the Mothreads service.
const servicePrefix = "/mothreads.v1.Mothreads/"

// newServer builds the gRPC server: the Mothreads service, health and
// reflection, behind the access checks.
func (d *daemon) newServer() *grpc.Server {
	creds := &transportCreds{refusals: d.refusals, authAtHandshake: d.access.token == nil}
	if d.access.tls != nil {
		creds.tls = credentials.NewTLS(d.access.tls)
	}
	opts := []grpc.ServerOption{
		grpc.Creds(trackedCreds{TransportCredentials: creds, b: &d.budget}), // counts what each connection writes (budget.go)
		// The handshake of a TCP connection (TLS, then HTTP/2) must end
		// within the time it has to authenticate; a Unix one is instant.
		grpc.ConnectionTimeout(d.cfg.TCPAuthTimeout),
		grpc.MaxRecvMsgSize(d.cfg.MaxRequestBytes),
		grpc.ChainUnaryInterceptor(d.unaryInterceptor),
		grpc.ChainStreamInterceptor(d.streamInterceptor),
	}
	s := grpc.NewServer(append(opts, callPathOptions()...)...)
	pb.RegisterMothreadsServer(s, d)
	d.health = health.NewServer()
	d.setHealth(healthpb.HealthCheckResponse_NOT_SERVING) // until warm: see watchReadiness
	healthpb.RegisterHealthServer(s, d.health)
	reflection.Register(s)
	return s
}

// serve is the "server" thread. It serves, with the "health" thread saying
// when it is ready (see watchReadiness), until asked to stop, then drains:
//
//  1. health reports NOT_SERVING (Status too) and GracefulStop begins: the
//     listeners close, clients get GOAWAY, calls in flight go on.
//  2. The pool, asked to stop at the same moment by the same parent, refuses
//     new calls and lets those in flight finish until its DrainTimeout, then
//     cancels them (C6); their handlers send the Exited events and return.
//     The server does not cancel anything itself: GracefulStop just waits
//     for those handlers, so the two drains are one.
//  3. Once no service call is in flight, the long-lived health Watch and
//     reflection streams are ended, which lets GracefulStop return.
//  4. If that has not happened by drainDeadline (the pool's drain timeout,
//     two kill graces and a second, or without the drain timeout after a
//     Shutdown with skip_drain, and counted from the skip when the drain
//     is skipped while it runs: only streams whose clients stopped reading
//     can hold it up), or the tree is forced, Stop closes every connection,
//     which unblocks their sends; the handlers then get another two kill
//     graces and a second to return.
func (d *daemon) serve(t *threads.Thread, unix, tcp, healthL net.Listener) error {
	d.server = t // before any handler runs: they register under it
	log := d.logger(t)
	listeners := map[string]net.Listener{"listen-unix": unix, "listen-tcp": tcp}
	for name, l := range listeners {
		if l == nil {
			delete(listeners, name)
			continue
		}
		threads.Go(t, name, func(lt *threads.Thread) error {
			err := d.grpc.Serve(l)
			if err != nil && !errors.Is(err, grpc.ErrServerStopped) && !t.PleaseStop().Fired() {
				d.logger(lt).Error("listener failed: shutting down", "err", err)
				d.root.Stop()
				return fmt.Errorf("serving on %s: %w", l.Addr(), err)
			}
			return nil
		})
	}
	d.serving.Store(true)
	threads.Go(t, "health", d.watchReadiness)
	if healthL != nil {
		// Health only, plain text, no access checks (Config.HealthListen);
		// it says NOT_SERVING through the drain and stops last.
		hs := grpc.NewServer()
		healthpb.RegisterHealthServer(hs, d.health)
		threads.Go(t, "listen-health", func(*threads.Thread) error {
			_ = hs.Serve(healthL)
			return nil
		})
		defer hs.Stop()
	}

	t.PleaseStop().Wait()
	d.serving.Store(false)
	d.health.Shutdown()
	// GracefulStop closes the listeners too, but only once it runs; closing
	// them here first makes "no longer accepting" true when it is logged.
	for _, l := range listeners {
		l.Close()
	}
	skipped := d.abort.Fired() // skipDrain fires abort before it stops root
	drainFor := d.cfg.drainDeadline(skipped)
	log.Info("shutdown: health NOT_SERVING; no longer accepting connections; draining calls",
		"in_flight", d.calls.count(), "deadline", drainFor)

	stopped := signals.New()
	threads.Go(t, "graceful-stop", func(*threads.Thread) error {
		d.grpc.GracefulStop()
		stopped.Go()
		return nil
	})
	deadline, release := (*signals.Timers)(nil).Till(drainFor)
	defer func() { release() }()
	if !skipped {
		d.calls.none().WaitTill(signals.Or(deadline, t.Forced(), &d.abort))
		if d.abort.Fired() && !deadline.Fired() && !t.Forced().Fired() {
			// The drain was skipped while it ran (a second signal): the
			// calls are being cancelled, and get the skip-drain deadline
			// from now (they may have ended already).
			release()
			deadline, release = (*signals.Timers)(nil).Till(d.cfg.drainDeadline(true))
			log.Info("shutdown: drain skipped: cancelling every call", "in_flight", d.calls.count(), "deadline", d.cfg.drainDeadline(true))
		}
	}
	giveUp := signals.Or(deadline, t.Forced()) // a third signal: see OnSecondSignal
	if d.calls.none().WaitTill(giveUp) {
		log.Info("shutdown: calls drained")
	}
	d.auxStop.Go()
	if !stopped.WaitTill(giveUp) {
		log.Warn("shutdown: drain deadline passed or shutdown forced: closing every connection", "in_flight", d.calls.count())
		d.grpc.Stop()
		// GracefulStop returns once the handlers have: their pool calls are
		// cancelled by now, and their sends fail on the closed connections.
		handlers, release := (*signals.Timers)(nil).Till(d.cfg.drainDeadline(true))
		defer release()
		if !stopped.WaitTill(signals.Or(handlers, t.Forced())) {
			log.Error("shutdown: calls still running after the connections closed", "in_flight", d.calls.count())
		}
	}
	log.Info("shutdown: server stopped")
	return nil
}

// begin adopts the RPC's handler goroutine as a call thread of the server
// and counts the service's calls; call done when the handler returns. ctx
// carries the call thread. Streams of other services (health Watch,
// reflection) get a context that ends when the drain is over, so that they
// do not hold up GracefulStop.
func (d *daemon) begin(ctx context.Context, method string) (_ context.Context, done func()) {
	name := fmt.Sprintf("call-%d", d.callN.Add(1))
	t, unregister := d.server.Register(name, threads.StopTimeout(d.cfg.drainDeadline(false)+5*time.Second))
	ctx = context.WithValue(ctx, callThreadKey{}, t)
	if !strings.HasPrefix(method, servicePrefix) {
		ctx, cancel := signals.WithSignal(ctx, &d.auxStop)
		return ctx, func() { cancel(); unregister() }
	}
	end := d.calls.begin()
	return ctx, func() { end(); unregister() }
}

type callThreadKey struct{}

// callThread returns the thread of the call whose context is ctx.
func callThread(ctx context.Context) *threads.Thread {
	t, _ := ctx.Value(callThreadKey{}).(*threads.Thread)
	return t
}

func (d *daemon) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	if err := d.authorize(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	if err := d.fleetCall(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	ctx, done := d.begin(ctx, info.FullMethod)
	defer done()
	defer d.recoverPanic(ctx, info.FullMethod, &err)
	resp, err = handler(ctx, req)
	if err == nil && strings.HasPrefix(info.FullMethod, servicePrefix) {
		_ = grpc.SetHeader(ctx, d.daemonHeader())
	}
	return resp, err
}

func (d *daemon) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	if err := d.authorize(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	if err := d.fleetCall(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	ctx, done := d.begin(ss.Context(), info.FullMethod)
	defer done()
	defer d.recoverPanic(ctx, info.FullMethod, &err)
	if strings.HasPrefix(info.FullMethod, servicePrefix) {
		ss = &headerOnSend{ServerStream: ss, header: d.daemonHeader()}
	}
	return handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
}

// serverStream is a grpc.ServerStream with the call's context.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// recoverPanic turns a handler's panic into an Internal error and logs it
// with its stack, instead of letting it take the daemon down.
func (d *daemon) recoverPanic(ctx context.Context, method string, err *error) {
	if p := recover(); p != nil {
		d.logger(callThread(ctx)).Error("call panicked", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		*err = status.Errorf(codes.Internal, "the daemon failed handling %s: %v", method, p)
	}
}
