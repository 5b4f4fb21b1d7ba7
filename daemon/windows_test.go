//go:build windows

package daemon_test

// The daemon's tests on Windows, with the cmd.exe pool. CI runs them under
// Wine 8 (.ci/windows), which has no AF_UNIX sockets: there the daemon
// serves on TCP only, and these tests call it over loopback with a token.
// On a Windows with AF_UNIX sockets they call it over the socket as well.

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/windows"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/internal/proctest"
	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// underWine reports whether the tests run under Wine, whose ntdll exports
// wine_get_version (Windows' does not).
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

const winToken = "windows-test-token-0123456789"

// winDaemon is a daemon served by Serve in the test's process.
type winDaemon struct {
	root   *threads.Thread
	logs   *proctest.Buffer
	done   chan struct{}
	err    error // Serve's, set before done closes
	socket string
	addr   string // TCP, "" without
}

// serveWin starts Serve with cfg, a socket in a new directory and, when
// tcp, a loopback listener that needs winToken. The test's cleanup stops
// the daemon if the test did not.
func serveWin(t *testing.T, cfg daemon.Config, tcp bool) *winDaemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "mtd")
	if err != nil {
		t.Fatal(err)
	}
	d := &winDaemon{logs: &proctest.Buffer{}, done: make(chan struct{}), socket: filepath.Join(dir, "d.sock")}
	cfg.Socket = d.socket
	if tcp {
		tokenFile := filepath.Join(dir, "token")
		if err := os.WriteFile(tokenFile, []byte(winToken+"\r\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d.addr = l.Addr().String()
		cfg.Listen, cfg.TCPListener, cfg.TokenFile = d.addr, l, tokenFile
	}
	cfg.Version = "test"
	cfg.Pool.MinIdle = 1
	logger := slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d.root = threads.NewRoot("main", threads.Logger(logger))
	go func() {
		defer close(d.done)
		d.err = daemon.Serve(d.root, cfg)
	}()
	t.Cleanup(func() {
		d.root.Stop()
		select {
		case <-d.done:
		case <-time.After(time.Minute):
			t.Errorf("Serve did not return; running: %v", d.root.Running())
		}
		d.root.Join()
		// The directory holds the token file and the socket's directory
		// entries only; os.RemoveAll fails under Wine 8 (see
		// pool/internal/cmdexe's removeDir).
		os.Remove(filepath.Join(dir, "token"))
		os.Remove(d.socket)
		os.Remove(dir)
		if t.Failed() {
			t.Logf("daemon logs:\n%s", d.logs.String())
		}
	})
	return d
}

// dial returns a client of d over TCP with opts, closed by the test's
// cleanup.
func (d *winDaemon) dial(t *testing.T, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), append([]client.Option{client.WithAddress(d.addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestWindowsServe: over TCP with a token (and over the socket where
// Windows has AF_UNIX): refusal without the token, exact output and status,
// stdin, a timeout that kills the command, and an ordered shutdown that
// lets the call in flight finish.
func TestWindowsServe(t *testing.T) {
	d := serveWin(t, daemon.Config{Pool: pool.Config{DrainTimeout: time.Minute}}, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if _, err := d.dial(t).Status(ctx); status.Code(err) != codes.Unauthenticated {
		t.Errorf("Status without the token: %v, want Unauthenticated", err)
	}
	c := d.dial(t, client.WithToken(winToken))
	if _, err := c.Status(ctx); err != nil {
		t.Fatalf("Status: %v", err)
	}
	if underWine() {
		if !strings.Contains(d.logs.String(), "no Unix sockets: serving on TCP only") {
			t.Errorf("no warning that the socket is missing in the log")
		}
	} else {
		sc, err := client.Dial(ctx, client.WithSocket(d.socket))
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		if _, err := sc.Status(ctx); err != nil {
			t.Errorf("Status over the socket: %v", err)
		}
	}

	var out, errb bytes.Buffer
	r, err := c.Exec(ctx, &client.Request{Script: "echo hi& echo oops>&2& exit /b 3"}, &out, &errb)
	if err != nil || r.ExitCode != 3 || out.String() != "hi\r\n" || errb.String() != "oops\r\n" {
		t.Errorf("exec: %q %q %+v %v", out.String(), errb.String(), r, err)
	}
	out.Reset()
	r, err = c.Exec(ctx, &client.Request{Script: "set /p L=& call echo got %L%", Stdin: strings.NewReader("line\r\n")}, &out, nil)
	if err != nil || r.ExitCode != 0 || out.String() != "got line\r\n" {
		t.Errorf("stdin: %q %+v %v", out.String(), r, err)
	}
	start := time.Now()
	r, err = c.Exec(ctx, &client.Request{Script: "ping -n 60 127.0.0.1 >nul", Timeout: time.Second}, nil, nil)
	if err != nil || !r.TimedOut || time.Since(start) > 30*time.Second {
		t.Errorf("timeout: %+v %v after %v", r, err, time.Since(start))
	}

	// Ordered shutdown: the call in flight finishes, then Serve returns nil.
	out.Reset()
	p, err := c.Start(ctx, &client.Request{Script: "ping -n 3 127.0.0.1 >nul& echo drained"}, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(ctx, false); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	r, err = p.Wait()
	if err != nil || r.ExitCode != 0 || out.String() != "drained\r\n" {
		t.Errorf("call in flight at shutdown: %q %+v %v", out.String(), r, err)
	}
	select {
	case <-d.done:
	case <-ctx.Done():
		t.Fatalf("Serve did not return after Shutdown; running: %v", d.root.Running())
	}
	if d.err != nil {
		t.Errorf("Serve: %v", d.err)
	}
	if !strings.Contains(d.logs.String(), "shutdown complete") {
		t.Errorf("no \"shutdown complete\" in the log")
	}
}

// TestWindowsNoUnixSockets: where Windows has no AF_UNIX sockets (Wine 8),
// a daemon without a TCP listener cannot serve, and says what to do.
func TestWindowsNoUnixSockets(t *testing.T) {
	if !underWine() {
		t.Skip("this Windows has AF_UNIX sockets (the test needs a system without them, such as Wine 8)")
	}
	d := serveWin(t, daemon.Config{}, false)
	<-d.done
	if d.err == nil || !strings.Contains(d.err.Error(), "no Unix sockets: serve on TCP instead") {
		t.Errorf("Serve: %v, want the error that says to serve on TCP", d.err)
	}
}
