package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/mothreads/mothreads/pool"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
)

// daemon is one running service: the pool, the gRPC server and their
// shared state.
type daemon struct {
	pb.UnimplementedMothreadsServer

	cfg     Config
	root    *threads.Thread
	log     *slog.Logger // the root's (or Config.Logger), with its thread path
	uid     int          // the daemon's effective uid: it may call, and root
	pid     int
	started time.Time
	access  tcpAccess

	instance      string         // random id, sent as HeaderDaemon
	identities    identityCounts // calls per TLS client identity
	refusals      *rateLog       // every refusal's warning goes through it
	tokenFailures *throttle      // failed bearer tokens per TCP peer address

	pool   *pool.Pool
	grpc   *grpc.Server
	health *health.Server
	server *threads.Thread // set by the server thread before it serves

	serving atomic.Bool
	calls   activity       // RPCs of the Mothreads service in flight
	callN   atomic.Uint64  // numbers the call threads
	abort   signals.Signal // Shutdown with skip_drain: cancel every call now
	auxStop signals.Signal // ends the health and reflection streams at shutdown
	budget  budget         // memory for buffered output and stdin (budget.go)
}

// Serve runs the daemon as the body of root, the program's main thread
// (cmd/mothreadsd runs it under threads.Main, which turns SIGTERM and SIGINT
// into root's please-stop and a second one into Force). It listens on the
// Unix socket (and on TCP when cfg.Listen is set), starts the pool as the
// child thread "pool" and the gRPC server as "server", and serves until
// root is asked to stop: by a signal, by the Shutdown RPC, or after
// cfg.ExitIdle without calls. It returns once the ordered shutdown (see the
// package documentation) has finished, with nil after a clean one.
//
// Serve fails at once, before serving, on an invalid cfg, when a live
// daemon serves on the socket (errors.Is(err, ErrAlreadyRunning)), when the
// socket's directory is unsafe, or when the pool cannot start.
func Serve(root *threads.Thread, cfg Config) error {
	cfg, err := cfg.normalized()
	if err != nil {
		return err
	}
	d := &daemon{cfg: cfg, root: root, uid: os.Geteuid(), pid: os.Getpid(), started: time.Now(), instance: newInstanceID()}
	d.budget.limit = cfg.MaxBuffered
	d.log = d.logger(root)
	if d.access, err = loadTCPAccess(cfg); err != nil {
		return err
	}
	if cfg.SkipDrain != nil {
		defer cfg.SkipDrain.Then(d.skipDrain)()
	}
	d.refusals = newRateLog(d.log, refusalsPerSecond)
	defer d.refusals.stop()
	d.tokenFailures = newThrottle(tokenBurst, tokenInterval, throttledPeers)
	sock, err := d.openSocket()
	if err != nil {
		return err
	}
	var tcp net.Listener
	if cfg.Listen != "" {
		l := cfg.TCPListener
		if l == nil {
			if l, err = net.Listen("tcp", cfg.Listen); err != nil {
				sock.close()
				return fmt.Errorf("daemon: listening on TCP %s: %w", cfg.Listen, err)
			}
		}
		tcp = newTCPGate(l, cfg.MaxTCPConns, cfg.TCPAuthTimeout, d.refusals)
		d.warnWeakTCP()
	}
	var healthL net.Listener
	if cfg.HealthListen != "" {
		if healthL, err = net.Listen("tcp", cfg.HealthListen); err != nil {
			if tcp != nil {
				tcp.Close()
			}
			sock.close()
			return fmt.Errorf("daemon: listening for health checks on %s: %w", cfg.HealthListen, err)
		}
	}
	if d.pool, err = pool.New(root, cfg.Pool); err != nil {
		if healthL != nil {
			healthL.Close()
		}
		if tcp != nil {
			tcp.Close()
		}
		sock.close()
		return fmt.Errorf("daemon: starting the pool: %w", err)
	}
	d.grpc = d.newServer()
	server := threads.Go(root, "server", func(t *threads.Thread) error {
		return d.serve(t, sock.listener(), tcp, healthL)
	}, threads.StopTimeout(cfg.stopDeadline()))
	if cfg.ExitIdle > 0 {
		threads.Go(root, "idle", d.exitIdle)
	}
	attrs := []any{"socket", sock.path, "pid", d.pid, "version", cfg.Version, "instance", d.instance}
	if cfg.SocketListener != nil {
		attrs = append(attrs, "socket_activated", true)
	}
	if tcp != nil {
		attrs = append(attrs, "listen", tcp.Addr().String())
	}
	if healthL != nil {
		attrs = append(attrs, "health_listen", healthL.Addr().String())
	}
	d.log.Info("serving", attrs...)

	root.PleaseStop().Wait()
	return d.shutdown(server, sock)
}

// shutdown waits for the server and the pool, which were asked to stop
// together with root and drain in cooperation (see serve), then removes the
// socket. It waits at most stopDeadline in all, and not at all once the
// tree is forced: root's own join then reports whatever did not stop, by
// path, and Serve fails.
func (d *daemon) shutdown(server *threads.Thread, sock *socket) error {
	forced := d.root.Forced()
	deadline, release := (*signals.Timers)(nil).Till(d.cfg.stopDeadline())
	defer release()
	giveUp := signals.Or(deadline, forced)
	var errs []error
	wait := func(what string, t *threads.Thread) {
		if t.Stopped().WaitTill(giveUp) {
			errs = append(errs, t.Join())
			return
		}
		if !forced.Fired() {
			d.log.Error("shutdown: "+what+" did not stop in time", "running", d.root.Running())
			errs = append(errs, fmt.Errorf("daemon: shutdown: %s did not stop within %v", what, d.cfg.stopDeadline()))
		}
	}
	wait("the server", server)
	d.log.Info("shutdown: waiting for the pool to stop its sessions")
	wait("the pool", d.pool.Thread())
	if d.pool.Thread().Stopped().Fired() {
		d.log.Info("shutdown: pool stopped")
	}
	removed, err := sock.close()
	errs = append(errs, err)
	if removed {
		d.log.Info("shutdown: socket removed", "socket", d.cfg.Socket)
	}
	if forced.Fired() {
		d.log.Warn("shutdown was forced")
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	d.log.Info("shutdown complete")
	return nil
}

// openSocket returns the Unix socket to serve: the socket-activated one
// when there is one (not the daemon's to lock or remove), else its own.
func (d *daemon) openSocket() (*socket, error) {
	if l := d.cfg.SocketListener; l != nil {
		l.SetUnlinkOnClose(false)
		return &socket{l: l, path: d.cfg.Socket}, nil
	}
	s, err := listenSocket(d.cfg.Socket, d.log)
	if err != nil && noUnixSockets(err) {
		// Windows before 10 (1803), and Wine 8: TCP is the only way in.
		if d.cfg.Listen == "" {
			return nil, fmt.Errorf("%w (this system has no Unix sockets: serve on TCP instead, with Listen (--listen) on a loopback address and a TokenFile (--token-file))", err)
		}
		d.log.Warn("this system has no Unix sockets: serving on TCP only", "socket", d.cfg.Socket, "err", err)
		return &socket{}, nil
	}
	return s, err
}

// logger returns the logger for t's messages (the daemon's for a nil t).
func (d *daemon) logger(t *threads.Thread) *slog.Logger {
	if t == nil {
		return d.log
	}
	if d.cfg.Logger != nil {
		return d.cfg.Logger.With("thread", t.Path())
	}
	return t.Logger()
}

// Limits of refusals (see rateLog and throttle).
const (
	refusalsPerSecond = 10
	tokenBurst        = 10
	tokenInterval     = time.Second
	throttledPeers    = 4096
)

// warnWeakTCP warns about TCP settings that were allowed explicitly but
// protect little.
func (d *daemon) warnWeakTCP() {
	switch {
	case d.access.tls == nil && !loopback(d.cfg.Listen):
		d.log.Warn("TCP without TLS on a non-loopback address (InsecureCleartextToken): the bearer token and all traffic cross the network in clear text", "listen", d.cfg.Listen)
	case d.access.tls == nil:
		d.log.Warn("TCP without TLS: the bearer token and all traffic are in clear text on loopback", "listen", d.cfg.Listen)
	case d.access.token == nil && d.access.tls.ClientCAs == nil:
		d.log.Warn("TCP with TLS but no client authentication (InsecureNoClientAuth): any client that can connect may run commands", "listen", d.cfg.Listen)
	}
}

// exitIdle is the "idle" thread: it stops root once no call has been in
// flight or started for cfg.ExitIdle.
func (d *daemon) exitIdle(t *threads.Thread) error {
	for {
		busy, gen, kick := d.calls.snapshot()
		if busy {
			select {
			case <-kick:
			case <-t.PleaseStop().Done():
				return nil
			}
			continue
		}
		timer := time.NewTimer(d.cfg.ExitIdle)
		select {
		case <-t.PleaseStop().Done():
			timer.Stop()
			return nil
		case <-kick:
			timer.Stop()
			continue
		case <-timer.C:
		}
		if d.calls.idleSince(gen) {
			d.logger(t).Info("no calls for the idle time: shutting down", "exit_idle", d.cfg.ExitIdle)
			d.root.Stop()
			return nil
		}
	}
}
