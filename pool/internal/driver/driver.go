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

// StickyShell is what a driver offers for sticky sessions beyond Shell: a
// look inside a session, its background jobs and their log, and input to
// the command it runs. The bash driver has it.
type StickyShell interface {
	Shell
	// Dir is the shell's current directory ("" if unknown).
	Dir() string
	// Jobs lists the shell's jobs: its process groups other than its own.
	Jobs() []Job
	// Log returns what background jobs wrote after their call ended, from
	// offset from (negative: the last -from bytes), the offset after it,
	// and a Signal that fires when more comes.
	Log(from int64) (data []byte, next int64, more *signals.Signal)
	// Input writes data to the running command: to its stdin (a call
	// started with OpenStdin), or with tty to the session's terminal;
	// eof then ends that input.
	Input(data []byte, eof, tty bool) error
	// Waiting says what the running command waits to read: "stdin",
	// "terminal" or "".
	Waiting() string
}

// Job is one job of a sticky session: a process group the shell started.
type Job struct {
	PGID    int
	PIDs    []int
	State   string // "running" or "stopped"
	Command string // the group leader's command line
}
