package daemoncmd

import (
	"fmt"
	"os"
	"time"

	"github.com/mothreads/mothreads/cmd/internal/envflag"
	"github.com/mothreads/mothreads/cmd/internal/flagval"
	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/pool"
	"github.com/spf13/pflag"
)

// EnvPrefix starts the environment variable of every daemon flag
// (MOTHREADS_MIN_IDLE for --min-idle).
const EnvPrefix = "MOTHREADS"

// Defaults of the daemon's flags, as documented in the README.
const (
	DefaultMinIdle      = 2
	DefaultMaxUses      = 1000
	DefaultMaxAge       = time.Hour
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultQueueTimeout = pool.DefaultQueueTimeout
	DefaultKillGrace    = pool.DefaultKillGrace
	DefaultDrainTimeout = pool.DefaultDrainTimeout
)

// flags are the daemon's settings as the flags and their variables give
// them.
type flags struct {
	socket, listen                    string
	tlsCert, tlsKey, tlsCA, tokenFile string
	insecureNoClientAuth              bool
	insecureCleartextToken            bool
	maxTCPConns                       int
	tcpAuthTimeout                    time.Duration
	shell, init, initFile             string
	healthListen                      string

	minIdle, maxSessions, maxUses int
	maxSticky                     int           // --max-sticky
	stickyIdleTimeout             time.Duration // --sticky-idle-timeout
	maxAge, idleTimeout           time.Duration
	queueTimeout, defaultTimeout  time.Duration
	killGrace, drainTimeout       time.Duration
	exitIdle                      time.Duration
	maxBufferedMiB                int // --max-buffered (the call path's memory budget)

	logFormat, logLevel string
}

// define defines the daemon's flags on fs and binds them to their
// variables. Keep the list in step with DESIGN.md's External interface and
// the README's flags table.
func (f *flags) define(fs *pflag.FlagSet) {
	fs.StringVar(&f.socket, "socket", "", "Unix socket to serve on (default $XDG_RUNTIME_DIR/mothreads/mothreads.sock, else /tmp/mothreads-<uid>/mothreads.sock)")
	fs.StringVar(&f.listen, "listen", "", "also serve on this TCP address (host:port); needs client authentication: --tls-client-ca (with --tls-cert/--tls-key) and/or --token-file")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate of the TCP listener")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of the TCP listener")
	fs.StringVar(&f.tlsCA, "tls-client-ca", "", "PEM bundle of CAs that TCP client certificates must chain to (mutual TLS)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file (mode 0600) whose first line is the bearer token TCP clients must send (16 bytes or more)")
	fs.BoolVar(&f.insecureNoClientAuth, "insecure-no-client-auth", false, "allow --listen with TLS but without client authentication: anyone who reaches the port runs commands")
	fs.BoolVar(&f.insecureCleartextToken, "insecure-cleartext-token", false, "allow --token-file without TLS on a non-loopback address: the token crosses the network in clear text")
	flagval.IntVar(fs, &f.maxTCPConns, "max-tcp-conns", "", daemon.DefaultMaxTCPConns, 1, "most TCP connections open at once; more are closed at once")
	flagval.DurationVar(fs, &f.tcpAuthTimeout, "tcp-auth-timeout", "", daemon.DefaultTCPAuthTimeout, "close TCP connections without an authorised call after this long")
	fs.StringVar(&f.healthListen, "health-listen", "", "also serve grpc.health.v1 only, in plain text and without access checks, on this TCP address (for Kubernetes probes)")
	fs.StringVar(&f.shell, "shell", defaultShell, shellUsage)
	fs.StringVar(&f.init, "init", "", "script every new session runs once before serving calls (visible in ps: use --init-file or MOTHREADS_INIT for secrets)")
	fs.StringVar(&f.initFile, "init-file", "", "read the --init script from this file")
	flagval.IntVar(fs, &f.minIdle, "min-idle", "", DefaultMinIdle, 0, "sessions kept started and idle")
	flagval.IntVar(fs, &f.maxSessions, "max-sessions", "", 0, 0, "most sessions, busy, idle or sticky (0: max(4, 2 x CPUs))")
	flagval.IntVar(fs, &f.maxSticky, "max-sticky", "", 0, 0, "most sticky sessions (counted in --max-sessions too); a new one beyond closes the least recently used idle one (0: half of --max-sessions, at least 1)")
	flagval.DurationVar(fs, &f.stickyIdleTimeout, "sticky-idle-timeout", "", 0, "close sticky sessions unused this long, unless created with their own (0: --idle-timeout)")
	flagval.IntVar(fs, &f.maxUses, "max-uses", "", DefaultMaxUses, 0, "recycle a session after this many calls (0: never)")
	flagval.DurationVar(fs, &f.maxAge, "max-age", "", DefaultMaxAge, "recycle an idle session older than this (0: never)")
	flagval.DurationVar(fs, &f.idleTimeout, "idle-timeout", "", DefaultIdleTimeout, "stop sessions beyond --min-idle, and sticky sessions, unused this long (0: never)")
	flagval.DurationVar(fs, &f.queueTimeout, "queue-timeout", "", DefaultQueueTimeout, "how long a call may wait for a free session before it is refused")
	flagval.DurationVar(fs, &f.defaultTimeout, "default-timeout", "", 0, "time limit of calls that set none (0: none)")
	flagval.DurationVar(fs, &f.killGrace, "kill-grace", "", DefaultKillGrace, "time between SIGTERM and SIGKILL when a call is timed out or cancelled")
	flagval.DurationVar(fs, &f.drainTimeout, "drain-timeout", "", DefaultDrainTimeout, "at shutdown, how long calls in flight may finish before they are cancelled")
	flagval.DurationVar(fs, &f.exitIdle, "exit-idle", "", 0, "exit after this long without calls (0: never; auto-started daemons use 10m)")
	flagval.IntVar(fs, &f.maxBufferedMiB, "max-buffered", "", daemon.DefaultMaxBuffered>>20, 1, "MiB the daemon may hold for buffered Run output and queued stdin; calls beyond are refused (ResourceExhausted)")
	flagval.EnumVar(fs, &f.logFormat, "log-format", "text", []string{"text", "json"}, "log format on stderr")
	flagval.EnumVar(fs, &f.logLevel, "log-level", "info", []string{"debug", "info", "warn", "error"}, "least severe level logged")
	envflag.Bind(fs, EnvPrefix)
}

// config returns the daemon's Config, or a usage error naming the flag for
// settings that are wrong or contradict each other (see check).
func (f *flags) config(version string) (daemon.Config, error) {
	if err := f.check(); err != nil {
		return daemon.Config{}, err
	}
	init := f.init
	if f.initFile != "" {
		if init != "" {
			return daemon.Config{}, fmt.Errorf("--init and --init-file exclude each other")
		}
		b, err := os.ReadFile(f.initFile)
		if err != nil {
			return daemon.Config{}, fmt.Errorf("--init-file: %w", err)
		}
		init = string(b)
	}
	cfg := daemon.Config{
		Socket:                 f.socket,
		Listen:                 f.listen,
		TLSCert:                f.tlsCert,
		TLSKey:                 f.tlsKey,
		TLSClientCA:            f.tlsCA,
		TokenFile:              f.tokenFile,
		InsecureNoClientAuth:   f.insecureNoClientAuth,
		InsecureCleartextToken: f.insecureCleartextToken,
		MaxTCPConns:            f.maxTCPConns,
		TCPAuthTimeout:         f.tcpAuthTimeout,
		HealthListen:           f.healthListen,
		ExitIdle:               f.exitIdle,
		MaxBuffered:            int64(f.maxBufferedMiB) << 20,
		Version:                version,
		Pool: pool.Config{
			Shell:             f.shell,
			Init:              init,
			MinIdle:           f.minIdle,
			MaxSessions:       f.maxSessions,
			MaxSticky:         f.maxSticky,
			MaxUses:           f.maxUses,
			MaxAge:            f.maxAge,
			IdleTimeout:       f.idleTimeout,
			StickyIdleTimeout: f.stickyIdleTimeout,
			QueueTimeout:      f.queueTimeout,
			DefaultTimeout:    f.defaultTimeout,
			KillGrace:         f.killGrace,
			DrainTimeout:      f.drainTimeout,
		},
	}
	if err := cfg.Validate(); err != nil {
		return daemon.Config{}, flagError(err)
	}
	return cfg, nil
}
