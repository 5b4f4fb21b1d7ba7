package driver

import (
	"log/slog"
	"time"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// Spec is what a driver needs to start one session's shell.
type Spec struct {
	Name         string // the session's name, for errors and file names
	Shell        string // resolved path
	Init         string
	Env          []string
	Dir          string
	RuntimeDir   string
	Sticky       bool
	StartTimeout time.Duration
	Log          *slog.Logger
	Abort        *signals.Signal // fires when the pool stops: give up starting
	Spawner      *proc.Spawner
	Reaper       *proc.Reaper
	// Thread is the session's thread: the driver's long-lived goroutines
	// (readers, waiters) are named threads under it.
	Thread *threads.Thread
	// Launcher is a program that calls proc.Launch first thing (the
	// daemon's own binary), through which the shell is started clean and
	// as a child subreaper; "" starts it directly.
	Launcher string
	// ExactStatus says the kernel keeps the exit status of any process in
	// its pidfd (see proc.HasPidfdExit).
	ExactStatus bool
}

// Shell is one live shell process of a session. A driver (bash, POSIX sh,
// cmd.exe) implements it; the scheduler only calls these methods.
type Shell interface {
	// Run drives one call to its end. An error means the call produced no
	// result (a RequestError when the request was at fault); a command that
	// failed is a Result.
	Run(c *Call) (*Result, error)
	// Died fires when the shell process is gone.
	Died() *signals.Signal
	// Alive reports at once whether the shell process still runs.
	Alive() bool
	// Ready fires when the shell can start the next call at once (for bash:
	// the child forked for it is ready).
	Ready() *signals.Signal
	PID() int
	// Memory is the private memory of the shell and its idle helpers.
	Memory() int64
	// Close stops the shell and everything it started, giving them grace to
	// exit on their own first; it returns when they are gone.
	Close(grace time.Duration)
}
