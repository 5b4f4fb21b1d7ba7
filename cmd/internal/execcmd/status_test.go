package execcmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/mothreads/mothreads/client"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOutcome(t *testing.T) {
	argv := &client.Request{Argv: []string{"frob", "x"}}
	script := &client.Request{Script: "frob"}
	sticky := &client.Request{Script: "frob", Session: "dev"}
	notFound := &client.RequestError{Op: "exec", Code: codes.NotFound, Field: "argv[0]", Message: "no frob"}
	rejected := &client.RequestError{Op: "exec", Code: codes.InvalidArgument, Field: "cwd", Message: `field "cwd": no such directory`}
	for _, tc := range []struct {
		name    string
		res     *client.Result
		err     error
		cause   error
		req     *client.Request
		code    int
		message string // part of the message; "" for none
	}{
		{"success", &client.Result{}, nil, nil, argv, 0, ""},
		{"own status", &client.Result{ExitCode: 42}, nil, nil, argv, 42, ""},
		{"signal", &client.Result{Signal: syscall.SIGKILL, ExitCode: -1}, nil, nil, argv, 137, ""},
		{"timeout", &client.Result{TimedOut: true, Signal: syscall.SIGTERM}, nil, nil, argv, 124, ""},
		{"timeout with error", &client.Result{TimedOut: true}, errors.New("stream ended"), nil, argv, 124, ""},
		{"sticky timeout", &client.Result{TimedOut: true, Interrupted: true, ExitCode: 130, Session: "sticky-dev"}, nil, nil, sticky, 124, `sticky session "dev" is kept`},
		{"sticky interrupt", &client.Result{Interrupted: true, ExitCode: 130, Session: "sticky-dev"}, nil, nil, sticky, 130, `interrupted (^C, status 130); sticky session "dev" is kept`},
		{"sticky interrupt, status 0", &client.Result{Interrupted: true}, nil, nil, sticky, 130, "interrupted"},
		{"session lost", &client.Result{SessionLost: true, Message: "shell died"}, nil, nil, argv, 125, "shell died"},
		{"cancelled by the daemon", &client.Result{Cancelled: true}, nil, nil, argv, 125, "shutting down"},
		{"cancelled by the daemon, killed", &client.Result{Cancelled: true, Signal: syscall.SIGTERM, ExitCode: -1,
			Message: "cancelled: the daemon is shutting down without drain"}, nil, nil, argv, 143, "the daemon cancelled the call: cancelled: the daemon is shutting down without drain"},
		{"not found", nil, notFound, nil, argv, 127, "frob: command not found"},
		{"not found, script", nil, notFound, nil, script, 127, "command: command not found"},
		{"rejected", nil, rejected, nil, argv, 125, "cwd"},
		{"no daemon", nil, errNoDaemonErr{"/s.sock"}, nil, argv, 125, "no daemon at /s.sock (--no-autostart given)"},
		{"unavailable", nil, fmt.Errorf("dial: %w", client.ErrUnavailable), nil, argv, 125, "unavailable"},
		{"interrupted", nil, context.Canceled, &interrupted{sig: syscall.SIGINT}, argv, 130, ""},
		{"terminated mid-call", &client.Result{Cancelled: true}, nil, &interrupted{sig: syscall.SIGTERM}, argv, 143, ""},
		{"hung up", nil, context.Canceled, &interrupted{sig: syscall.SIGHUP}, argv, 129, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := outcome(tc.res, tc.err, tc.cause, tc.req)
			if e.code != tc.code {
				t.Errorf("status %d, want %d", e.code, tc.code)
			}
			switch {
			case tc.message == "" && e.err != nil:
				t.Errorf("message %q, want none", e.err)
			case tc.message != "" && (e.err == nil || !strings.Contains(e.err.Error(), tc.message)):
				t.Errorf("message %v, want one containing %q", e.err, tc.message)
			}
			if err := e.exitError(); (err == nil) != (tc.code == 0) {
				t.Errorf("exitError() = %v for status %d", err, tc.code)
			}
		})
	}
}
