package client_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/mothreads/mothreads/client"
)

// An agent's bash tool on a sticky session: state persists across calls, a
// timeout interrupts the command and keeps the shell, background jobs keep
// running and their output goes to the session's log, a prompt gets its
// answer through Input, and CloseSession ends it all. Compiled, not run:
// it needs a daemon (integration's TestAgentGoClient runs the same calls).
func Example_agent() {
	ctx := context.Background()
	c, err := client.Dial(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	const session = "agent-1"
	// bash is the agent's tool: one call, its exact output and status.
	bash := func(script string, timeout time.Duration) (string, *client.Result) {
		r, err := c.Run(ctx, &client.Request{Session: session, Script: script, Timeout: timeout,
			SessionIdleTimeout: time.Hour}, 0) // the idle expiry applies when the call creates the session
		if err != nil {
			log.Fatal(err) // refused or no daemon: nothing ran
		}
		return string(r.Stdout) + string(r.Stderr), &r.Result
	}

	bash("cd ~/src/app && . .venv/bin/activate", 0)
	bash("python3 -m http.server 8000 >/dev/null 2>&1 &", 0) // outlives the call
	out, _ := bash("curl -s localhost:8000/ | head -3", 10*time.Second)
	fmt.Print(out)

	// A timeout interrupts (^C) and keeps the session: cwd, venv and the
	// server are still there for the next call.
	out, res := bash("pytest -x", 5*time.Minute)
	if res.Interrupted {
		fmt.Printf("pytest timed out (status %d); output so far:\n%s", res.ExitCode, out)
	}

	// A command that prompts: start it with an open stdin, answer later.
	var answer bytes.Buffer
	p, err := c.Start(ctx, &client.Request{Session: session, OpenStdin: true,
		Script: `read -r -p "Proceed? " a; echo "got $a"`}, &answer, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	for info, err := c.Session(ctx, session); err == nil && info.Waiting != "stdin"; info, err = c.Session(ctx, session) {
		time.Sleep(50 * time.Millisecond) // ListSessions says when it waits
	}
	if err := c.Input(ctx, session, []byte("y\n"), false, false); err != nil {
		log.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		log.Fatal(err)
	}

	// What the background jobs printed after their calls, then the end.
	if _, _, err := c.Logs(ctx, session, -4096, false, os.Stdout); err != nil {
		log.Fatal(err)
	}
	if err := c.CloseSession(ctx, session); err != nil {
		log.Fatal(err)
	}
}

// Interrupt stops the command running in a sticky session from another
// goroutine (or process), as ^C would; the session stays.
func ExampleClient_Interrupt() {
	ctx := context.Background()
	c, err := client.Dial(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	time.AfterFunc(2*time.Second, func() { _ = c.Interrupt(ctx, "dev") })
	res, err := c.Exec(ctx, &client.Request{Session: "dev", Script: "tail -f /var/log/syslog"}, os.Stdout, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Interrupted, res.ExitCode) // true 130
}
