package client_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mothreads/mothreads/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// dialTo dials a socket path and closes the client with the test.
func dialTo(t *testing.T, socket string) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), client.WithSocket(socket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestUnreachableDaemon(t *testing.T) {
	dir := shortDir(t)
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the file stays; nobody listens: connection refused

	for name, socket := range map[string]string{
		"no socket":          filepath.Join(dir, "none.sock"),
		"connection refused": stale,
	} {
		t.Run(name, func(t *testing.T) {
			c := dialTo(t, socket)
			_, err := c.Exec(context.Background(), &client.Request{Argv: []string{"true"}}, nil, nil)
			var de *client.DaemonError
			if !errors.Is(err, client.ErrUnavailable) || !errors.As(err, &de) {
				t.Fatalf("Exec: err = %v (%T), want a *DaemonError matching ErrUnavailable", err, err)
			}
			if de.Code != codes.Unavailable || de.Target != socket || de.Op != "exec" {
				t.Errorf("DaemonError = %+v", de)
			}
			if _, err := c.Status(context.Background()); !errors.Is(err, client.ErrUnavailable) {
				t.Errorf("Status: err = %v, want ErrUnavailable", err)
			}
			cmd := client.Command(context.Background(), "true")
			cmd.Client = c
			if err := cmd.Run(); !errors.Is(err, client.ErrUnavailable) {
				t.Errorf("Cmd.Run: err = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestRejectedRequest(t *testing.T) {
	d := startFake(t)
	for _, tc := range []struct {
		argv     string
		code     codes.Code
		field    string
		notFound bool
		viol     []client.FieldViolation
	}{
		{argv: "reject", code: codes.InvalidArgument, field: "cwd", viol: []client.FieldViolation{{Field: "cwd", Description: "must be absolute"}}},
		{argv: "notfound", code: codes.NotFound, field: "argv[0]", notFound: true, viol: []client.FieldViolation{{Field: "argv[0]", Description: "no such command"}}},
		{argv: "busy", code: codes.ResourceExhausted, field: "timeout"}, // from the message
	} {
		t.Run(tc.argv, func(t *testing.T) {
			for _, run := range []struct {
				name string
				f    func() error
			}{
				{"Exec", func() error {
					_, err := d.client.Exec(context.Background(), &client.Request{Argv: []string{tc.argv}}, nil, nil)
					return err
				}},
				{"Start", func() error {
					_, err := d.client.Start(context.Background(), &client.Request{Argv: []string{tc.argv}}, nil, nil)
					return err
				}},
				{"Run", func() error {
					_, err := d.client.Run(context.Background(), &client.Request{Argv: []string{tc.argv}}, 0)
					return err
				}},
				{"Cmd", func() error { return d.command(tc.argv).Run() }},
			} {
				err := run.f()
				var re *client.RequestError
				if !errors.As(err, &re) {
					t.Fatalf("%s: err = %v (%T), want *client.RequestError", run.name, err, err)
				}
				if re.Code != tc.code || re.Field != tc.field {
					t.Errorf("%s: code %v field %q, want %v %q", run.name, re.Code, re.Field, tc.code, tc.field)
				}
				if diff := cmp.Diff(tc.viol, re.Violations); diff != "" {
					t.Errorf("%s: violations (-want +have):\n%s", run.name, diff)
				}
				if status.Code(err) != tc.code {
					t.Errorf("%s: status.Code = %v, want %v", run.name, status.Code(err), tc.code)
				}
				if errors.Is(err, client.ErrNotFound) != tc.notFound || errors.Is(err, exec.ErrNotFound) != tc.notFound {
					t.Errorf("%s: errors.Is(err, ErrNotFound) = %v, want %v", run.name, errors.Is(err, client.ErrNotFound), tc.notFound)
				}
				if errors.Is(err, client.ErrUnavailable) {
					t.Errorf("%s: a refusal matches ErrUnavailable", run.name)
				}
			}
		})
	}
}

func TestDefaultSocketPath(t *testing.T) {
	t.Setenv("MOTHREADS_SOCKET", "/run/x/m.sock")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if have, want := client.DefaultSocketPath(), "/run/x/m.sock"; have != want {
		t.Errorf("with MOTHREADS_SOCKET: %q, want %q", have, want)
	}
	t.Setenv("MOTHREADS_SOCKET", "")
	if have, want := client.DefaultSocketPath(), filepath.Join("/run/user/1000", "mothreads", "mothreads.sock"); have != want {
		t.Errorf("with XDG_RUNTIME_DIR: %q, want %q", have, want)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	want := filepath.Join("/tmp", "mothreads-"+strconv.Itoa(os.Getuid()), "mothreads.sock")
	if os.Getuid() < 0 { // Windows
		want = filepath.Join(os.TempDir(), "mothreads", "mothreads.sock")
	}
	if have := client.DefaultSocketPath(); have != want {
		t.Errorf("fallback: %q, want %q", have, want)
	}
}

func TestDialUsesDefaultSocketPath(t *testing.T) {
	d := startFake(t)
	t.Setenv("MOTHREADS_SOCKET", d.socket)
	c, err := client.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestDialRejectsSocketAndAddress(t *testing.T) {
	if _, err := client.Dial(context.Background(), client.WithSocket("/x"), client.WithAddress("localhost:1")); err == nil {
		t.Error("Dial with both a socket and an address: no error")
	}
}

func TestTokenIsSent(t *testing.T) {
	d := startFake(t, client.WithToken("s3cret"))
	if _, err := d.client.Exec(context.Background(), &client.Request{Argv: []string{"echo"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.client.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, a := range d.auth {
		if a != "Bearer s3cret" {
			t.Errorf("call %d: authorization %q, want %q", i, a, "Bearer s3cret")
		}
	}
}

// The CLI's auto-start relies on this: a Client made while no daemon
// listens works soon after one starts, without dialling again.
func TestClientReachesADaemonThatStartsLater(t *testing.T) {
	sock := filepath.Join(shortDir(t), "late.sock")
	c := dialTo(t, sock)
	if _, err := c.Status(context.Background()); !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("before the daemon: err = %v, want ErrUnavailable", err)
	}
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveFake(t, lis)
	deadline := time.Now().Add(5 * time.Second) // the backoff is at most 3 s
	for {
		_, err := c.Status(context.Background())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing 5 s after the daemon started: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
