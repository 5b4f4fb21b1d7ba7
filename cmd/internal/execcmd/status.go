package execcmd

import (
	"errors"
	"fmt"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/cli"
)

// end is how exec ends: its exit status and, when mothreads has something
// to say, the message for stderr.
type end struct {
	code int
	err  error
}

// outcome maps the call's result (nil when it did not start), its error and
// the cancellation cause (an *interrupted when a signal to the CLI cancelled
// it) to exec's exit status, as DESIGN.md's External interface says.
func outcome(res *client.Result, err, cause error, req *client.Request) end {
	var intr *interrupted
	if errors.As(cause, &intr) {
		return end{code: cli.ExitSignal + int(intr.sig)}
	}
	if err != nil {
		var nd errNoDaemonErr
		switch {
		case errors.Is(err, client.ErrNotFound):
			name := "command"
			if len(req.Argv) > 0 {
				name = req.Argv[0]
			}
			return end{code: cli.ExitNotFound, err: fmt.Errorf("%s: command not found", name)}
		case errors.As(err, &nd):
			return end{code: cli.ExitFailed, err: nd}
		case res != nil && res.TimedOut:
			return end{code: cli.ExitTimeout}
		}
		return end{code: cli.ExitFailed, err: err}
	}
	switch {
	case res.Interrupted && res.TimedOut:
		return end{code: cli.ExitTimeout, err: fmt.Errorf("timed out: the command was interrupted (^C, status %d); sticky session %q is kept", res.ExitCode, req.Session)}
	case res.Interrupted:
		code := res.ExitCode
		if code <= 0 {
			code = cli.ExitSignal + 2 // SIGINT: the script's own status hid it
		}
		return end{code: code, err: fmt.Errorf("interrupted (^C, status %d); sticky session %q is kept", res.ExitCode, req.Session)}
	case res.TimedOut:
		return end{code: cli.ExitTimeout}
	case res.Signal != 0 && res.Cancelled: // the cancel's SIGTERM or SIGKILL: say why it came
		return end{code: cli.ExitSignal + int(res.Signal), err: cancelledErr(res)}
	case res.Signal != 0:
		return end{code: cli.ExitSignal + int(res.Signal)}
	case res.SessionLost:
		return end{code: cli.ExitFailed, err: fmt.Errorf("the command's session was lost: %s", orText(res.Message, "no exit status"))}
	case res.Cancelled:
		return end{code: cli.ExitFailed, err: cancelledErr(res)}
	}
	return end{code: res.ExitCode}
}

func cancelledErr(res *client.Result) error {
	return fmt.Errorf("the daemon cancelled the call: %s", orText(res.Message, "shutting down"))
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// exitError is e as the command's returned error.
func (e end) exitError() error {
	if e.code == 0 && e.err == nil {
		return nil
	}
	return cli.Exit(e.code, e.err)
}
