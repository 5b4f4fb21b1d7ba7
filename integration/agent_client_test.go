//go:build linux

package integration

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/internal/proctest"
)

// TestAgentGoClient runs client.Example_agent's calls against the real
// daemon with the Go client: state across calls, a timeout that interrupts
// and keeps the session, a background job whose later output reaches a
// Logs follower and no call, a prompt answered with Input, Interrupt, the
// session list, and CloseSession, which ends the follower and the job.
func TestAgentGoClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	c := e.dial(t)
	ctx := context.Background()
	const S = "go-agent"
	run := func(req client.Request) *client.RunResult {
		t.Helper()
		req.Session = S
		r, err := c.Run(ctx, &req, 0)
		if err != nil {
			t.Fatalf("%q: %v", req.Script, err)
		}
		return r
	}
	dir := t.TempDir()
	run(client.Request{Script: "cd " + dir + " && mkfifo go && X=kept", SessionIdleTimeout: time.Hour})
	// A job that prints once released, after its call has ended.
	if r := run(client.Request{Script: `{ read -r w < go; echo "job says $w"; sleep 300; } & echo started`}); string(r.Stdout) != "started\n" {
		t.Errorf("starting the job: %q", r.Stdout)
	}
	logCtx, stopLogs := context.WithTimeout(ctx, cliBound)
	defer stopLogs()
	log := newSignalWriter("job says hello\n")
	logsDone := make(chan error, 1)
	go func() { _, _, err := c.Logs(logCtx, S, 0, true, log); logsDone <- err }()
	if r := run(client.Request{Script: "echo hello > go; echo released"}); string(r.Stdout) != "released\n" {
		t.Errorf("releasing the job: %q (its output must go to the log only)", r.Stdout)
	}
	log.waitSeen(t, cliBound)

	r := run(client.Request{Script: "echo partial; sleep 30; echo not-reached", Timeout: 300 * time.Millisecond})
	if !r.Interrupted || !r.TimedOut || r.ExitCode != 130 || string(r.Stdout) != "partial\n" {
		t.Errorf("timed-out call: %v, stdout %q; want interrupted, timed out, 130, partial", &r.Result, r.Stdout)
	}
	if r := run(client.Request{Script: `echo "$X $PWD"`}); string(r.Stdout) != "kept "+dir+"\n" {
		t.Errorf("state after the timeout: %q", r.Stdout)
	}

	var answer bytes.Buffer
	p, err := c.Start(ctx, &client.Request{Session: S, OpenStdin: true, Script: `read -r a; echo "got $a"`}, &answer, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the prompt waits for stdin", func() bool {
		info, err := c.Session(ctx, S)
		return err == nil && info.Waiting == "stdin"
	})
	// No eof: the command ends on its own once it has read the line (an
	// eof would race with the call's end; see the report on issue 16).
	if err := c.Input(ctx, S, []byte("y\n"), false, false); err != nil {
		t.Fatal(err)
	}
	if res, err := p.Wait(); err != nil || !res.Success() || answer.String() != "got y\n" {
		t.Errorf("prompted call: %v %v, stdout %q", res, err, answer.String())
	}

	out := newSignalWriter("looping\n")
	p, err = c.Start(ctx, &client.Request{Session: S, Script: "echo looping; sleep 30"}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.waitSeen(t, cliBound)
	if err := c.Interrupt(ctx, S); err != nil {
		t.Fatal(err)
	}
	if res, err := p.Wait(); err != nil || !res.Interrupted || res.ExitCode != 130 {
		t.Errorf("interrupted call: %v, %v", res, err)
	}

	list, err := c.Sessions(ctx)
	if err != nil || len(list) != 1 || list[0].Name != S || list[0].Dir != dir || len(list[0].Jobs) != 1 {
		t.Fatalf("sessions: %+v, %v", list, err)
	}
	jobPIDs := list[0].Jobs[0].PIDs
	if err := c.CloseSession(ctx, S); err != nil {
		t.Fatal(err)
	}
	if err := <-logsDone; err != nil {
		t.Errorf("the log follower: %v, want nil at the session's close", err)
	}
	for _, pid := range jobPIDs {
		if !proctest.WaitGone(pid, dieBound) {
			t.Errorf("job process %d outlived its session", pid)
		}
	}
	if err := c.CloseSession(ctx, S); !errors.Is(err, client.ErrNoSession) {
		t.Errorf("second close: %v, want ErrNoSession", err)
	}
}
