package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/client"
)

// These examples need a running daemon, which `go test` does not have, so
// they are compiled but not run (they have no Output comment). The tests run
// the same calls against an in-process fake.

// Switching from os/exec: exec.CommandContext becomes client.Command.
func ExampleCommand() {
	ctx := context.Background()
	out, err := client.Command(ctx, "git", "rev-parse", "HEAD").Output()
	var ee *client.ExitError
	switch {
	case errors.As(err, &ee):
		log.Fatalf("git failed (%v): %s", ee, ee.Stderr)
	case errors.Is(err, client.ErrUnavailable):
		log.Fatal("no mothreads daemon: start mothreadsd")
	case err != nil:
		log.Fatal(err)
	}
	fmt.Printf("%s", out)
}

// Exec streams the output live; the Result says how the command ended.
func ExampleClient_Exec() {
	ctx := context.Background()
	c, err := client.Dial(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	res, err := c.Exec(ctx, &client.Request{Script: "make -j4 test", Timeout: 10 * time.Minute}, os.Stdout, os.Stderr)
	var re *client.RequestError
	switch {
	case errors.As(err, &re):
		log.Fatalf("refused: %v (field %q)", re, re.Field)
	case err != nil:
		log.Fatal(err)
	case res.TimedOut:
		log.Fatal("make timed out")
	case !res.Success():
		log.Fatalf("make: %v", res)
	}
}

// Start returns a running Process that takes signals and terminal resizes.
func ExampleClient_Start() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.WithSocket("/run/user/1000/mothreads/mothreads.sock"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	p, err := c.Start(ctx, &client.Request{
		Argv:  []string{"top"},
		Stdin: os.Stdin,
		TTY:   &client.WindowSize{Rows: 24, Cols: 80},
	}, os.Stdout, nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = p.Resize(client.WindowSize{Rows: 50, Cols: 132}) // on SIGWINCH
	_ = p.Signal(syscall.SIGINT)
	res, err := p.Wait()
	fmt.Println(res, err)
}

// Over TCP the daemon needs TLS and/or a token.
func ExampleWithAddress() {
	ctx := context.Background()
	c, err := client.Dial(ctx,
		client.WithAddress("build-host:7777"),
		client.WithTLS(nil), // nil: the system roots; set a *tls.Config for mTLS
		client.WithToken(os.Getenv("MOTHREADS_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Version, st.Pool.SessionsIdle, "idle")
}
