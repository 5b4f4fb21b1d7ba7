package pool

import (
	"errors"
	"log/slog"
	"os/exec"
	"time"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// shellSpec is what a driver needs to start one session's shell.
type shellSpec struct {
	name         string
	shell        string // resolved path
	init         string
	env          []string
	dir          string
	runtimeDir   string
	sticky       bool
	startTimeout time.Duration
	log          *slog.Logger
	abort        *signals.Signal // fires when the pool stops: give up starting
	spawner      *proc.Spawner
	reaper       *proc.Reaper
}

// shell is one live shell process of a session. A driver (bash, POSIX sh,
// cmd.exe) implements it; the pool only calls these methods.
type shell interface {
	// run drives one call to its end. An error means the call produced no
	// result (a RequestError when the request was at fault); a command that
	// failed is a Result.
	run(c *call) (*Result, error)
	// died fires when the shell process is gone.
	died() *signals.Signal
	// alive reports at once whether the shell process still runs.
	alive() bool
	// ready fires when the shell can start the next call at once (for bash:
	// the child forked for it is ready).
	ready() *signals.Signal
	pid() int
	// memory is the private memory of the shell and its idle helpers.
	memory() int64
	// close stops the shell and everything it started, giving them grace to
	// exit on their own first; it returns when they are gone.
	close(grace time.Duration)
}

func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.Exited()
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return 0
}
