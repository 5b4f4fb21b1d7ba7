// Package daemoncmd is the mothreadsd command: the daemon's flags and their
// MOTHREADS_* variables, its logging, and its run under threads.Main.
// cmd/mothreadsd runs it as its root command; mothreads runs the same
// command as its hidden "daemon" subcommand, which is how it auto-starts a
// daemon (and bench its private one) without needing a second binary.
package daemoncmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/envflag"
	"github.com/mothreads/mothreads/cmd/internal/version"
	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/internal/cloexec"
	"github.com/mothreads/mothreads/internal/sockpath"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
	"github.com/spf13/cobra"
)

// Exit statuses of the daemon, besides 0 after an ordered shutdown.
const (
	// ExitFailed: the daemon could not start or did not shut down cleanly.
	ExitFailed = 1
	// ExitUsage: a bad flag, variable or argument.
	ExitUsage = 2
	// ExitAlreadyRunning: another daemon holds the socket. A CLI that
	// auto-started this daemon takes it as "use the other one".
	ExitAlreadyRunning = 3
)

// Main runs mothreadsd with args (without the program name) and returns its
// exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	prog := cli.Program{Name: "mothreadsd", UsageCode: ExitUsage, FailCode: ExitFailed, Stdout: stdout, Stderr: stderr}
	cmd := New("mothreadsd", stderr)
	cmd.Version = version.String()
	return prog.Execute(ctx, cmd, args)
}

// New returns the daemon command, called use, which logs to logTo. Its
// RunE returns an *cli.ExitError carrying ExitFailed or ExitAlreadyRunning
// when the daemon fails, and a *cli.UsageError for bad settings.
func New(use string, logTo io.Writer) *cobra.Command {
	f := new(flags)
	cmd := &cobra.Command{
		Use:   use + " [flags]",
		Short: "Run the mothreads daemon in the foreground",
		Long: `Run the mothreads daemon in the foreground: it keeps warm shell sessions
and runs commands in them for mothreads clients over gRPC on a Unix socket.

Every flag can also be given as a MOTHREADS_<NAME> environment variable
(MOTHREADS_MIN_IDLE for --min-idle); the command line wins. Logs go to stderr.
SIGTERM or SIGINT starts an ordered shutdown (calls in flight may finish until
--drain-timeout); a second one skips the drain (calls in flight are cancelled,
the rest stays in order); a third one exits without waiting for what has not
stopped. SIGUSR1 dumps the goroutines.

Exit status: 0 after an ordered shutdown, 1 when the daemon failed, 2 for a
usage error, 3 when another daemon already serves on the socket.`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := envflag.Apply(cmd.Flags(), os.LookupEnv); err != nil {
				return &cli.UsageError{Err: err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(version.String())
			if err != nil {
				return &cli.UsageError{Err: err}
			}
			if err := activated(&cfg); err != nil {
				return cli.Exit(ExitFailed, err)
			}
			return serve(cfg, newLogger(logTo, f.logFormat, f.logLevel))
		},
	}
	cmd.Flags().SortFlags = false
	f.define(cmd.Flags())
	return cmd
}

// serve runs the daemon until its ordered shutdown.
//
// SIGPIPE is caught (and dropped) while it runs: Go kills a program that
// writes to a closed pipe on fd 1 or 2 unless it handles SIGPIPE, and a
// daemon must not die, leaving its sessions and socket behind, because
// whoever read its log went away. A caught signal is reset to its default
// in the processes the daemon starts, so commands still get SIGPIPE.
//
// The daemon is made undumpable (see undumpable), and its sessions start
// through this binary as their launcher (it calls pool.Launch in main).
//
// Every descriptor the daemon inherited above 2 (a caller's pipe, a
// harness's fd 3; socket-activated listeners too, which the daemon takes
// for itself) is marked close-on-exec first, so that no session and no
// command inherits it and whoever waits for its EOF does not wait for the
// daemon to exit.
func serve(cfg daemon.Config, log *slog.Logger) error {
	if err := cloexec.From(3); err != nil {
		log.Warn("could not mark inherited descriptors close-on-exec: sessions may inherit them", "err", err)
	}
	if err := undumpable(); err != nil {
		log.Warn("could not make the daemon undumpable: commands may reach its descriptors through /proc", "err", err)
	}
	if cfg.Pool.Launcher == "" {
		// This binary calls pool.Launch first thing: sessions start
		// through it (see pool.Config.Launcher).
		if exe, err := os.Executable(); err == nil {
			cfg.Pool.Launcher = exe
		}
	}
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	defer signal.Stop(pipes)
	// A second SIGTERM or SIGINT skips the drain and keeps the shutdown in
	// order (C11); only a third forces the tree.
	skipDrain := signals.New()
	cfg.SkipDrain = skipDrain
	err := threads.Main("main", func(t *threads.Thread) error {
		return daemon.Serve(t, cfg)
	}, threads.Logger(log), threads.OnSecondSignal(func() { skipDrain.Go() }))
	switch {
	case err == nil:
		return nil
	case errors.As(err, new(*daemon.ConfigError)):
		return &cli.UsageError{Err: flagError(err)}
	case errors.Is(err, daemon.ErrAlreadyRunning):
		socket := cfg.Socket
		if socket == "" {
			socket = sockpath.Default()
		}
		return cli.Exit(ExitAlreadyRunning, fmt.Errorf("already running: another daemon serves on %s", socket))
	default:
		return cli.Exit(ExitFailed, fmt.Errorf("daemon failed: %w", err))
	}
}

// activated takes the listeners of socket activation (systemd's
// LISTEN_FDS, see daemon.ActivatedListeners) into cfg: a Unix one replaces
// the socket the daemon would make, a TCP one the listener of --listen
// (whose address it becomes when --listen is not given).
func activated(cfg *daemon.Config) error {
	ls, err := daemon.ActivatedListeners()
	if err != nil {
		return err
	}
	for _, l := range ls {
		switch l := l.(type) {
		case *net.UnixListener:
			if cfg.SocketListener != nil {
				return fmt.Errorf("socket activation passed more than one Unix socket")
			}
			cfg.SocketListener = l
			if cfg.Socket == "" {
				cfg.Socket = l.Addr().String()
			}
		case *net.TCPListener:
			if cfg.TCPListener != nil {
				return fmt.Errorf("socket activation passed more than one TCP socket")
			}
			cfg.TCPListener = l
			if cfg.Listen == "" {
				cfg.Listen = l.Addr().String()
			}
		default:
			return fmt.Errorf("socket activation passed a %s listener; want a Unix or TCP stream socket", l.Addr().Network())
		}
	}
	return nil
}

// newLogger returns the daemon's logger: text or JSON on w, from level on.
// format and level were checked by their flags.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level)) // debug, info, warn, error: all valid
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
