package execcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/cli"
	"github.com/mothreads/mothreads/cmd/internal/daemonctl"
	"github.com/mothreads/mothreads/cmd/internal/target"
	"github.com/mothreads/mothreads/cmd/internal/termio"
)

// run runs req on the daemon tg names and returns the exit status as an
// *cli.ExitError (nil for status 0).
func (o *options) run(ctx context.Context, st Streams, tg target.Target, req *client.Request) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	survivePipeWrites()
	intr := watchInterrupts(cancel)
	defer intr.stop()

	var tty *localTerminal
	if o.tty {
		var err error
		if tty, err = openTerminal(st); err != nil {
			return cli.Exit(cli.ExitFailed, err)
		}
		defer tty.restore() // before the error, if any, is printed
		req.TTY = &tty.size
	}

	var stdout, stderr io.Writer = st.Out, st.Err
	var outBuf, errBuf bytes.Buffer
	if o.json {
		stdout, stderr = &outBuf, &errBuf
	}
	began := time.Now()
	// The client is not closed on the way out: the process is about to
	// exit, which closes the connection, and gRPC's orderly close (GOAWAY,
	// waiting for its goroutines) costs the CLI's exit about 0.3 ms. The
	// call is over by then: its stream has been read to its end.
	_, p, err := o.start(ctx, intr, tg, req, stdout, stderr)
	if err != nil {
		return o.report(st, outcome(nil, err, context.Cause(ctx), req), nil, began, nil, nil)
	}
	if tty != nil {
		stop := tty.follow(p)
		defer stop()
	}
	res, err := p.Wait()
	if errors.Is(err, syscall.EPIPE) {
		// The reader of our stdout or stderr went away: the command was told
		// (its next write to that stream failed), and what counts is its own
		// status, as when it writes to that pipe itself under bash -c.
		err = nil
	}
	return o.report(st, outcome(res, err, context.Cause(ctx), req), res, began, outBuf.Bytes(), errBuf.Bytes())
}

// start dials the daemon and starts the call; when no daemon answers on a
// socket, it auto-starts one (unless --no-autostart) and tries once more.
// The call's stdin is not touched before the call has started, so the retry
// loses nothing. A socket that fails the client's checks
// (client.ErrUntrusted) is reported as it is: no daemon is started there.
func (o *options) start(ctx context.Context, intr *interrupts, tg target.Target, req *client.Request, stdout, stderr io.Writer) (*client.Client, *client.Process, error) {
	c, p, err := startOn(ctx, intr, tg, req, stdout, stderr)
	if err == nil || !errors.Is(err, client.ErrUnavailable) || ctx.Err() != nil {
		return c, p, err
	}
	if o.noAutostart || tg.Socket == "" {
		return nil, nil, errNoDaemonErr{tg.String()}
	}
	if err := daemonctl.Ensure(ctx, daemonctl.Autostart{Socket: tg.Socket, ExitIdle: AutostartExitIdle, Timeout: AutostartTimeout, Dial: tg.Options}); err != nil {
		return nil, nil, fmt.Errorf("auto-starting a daemon: %w", err)
	}
	return startOn(ctx, intr, tg, req, stdout, stderr)
}

// errNoDaemonErr is the failure when no daemon answers and none may be
// started.
type errNoDaemonErr struct{ socket string }

func (e errNoDaemonErr) Error() string { return errNoDaemon(e.socket).Error() }

// startOn dials the daemon tg names and starts the call, telling intr
// when the start begins and how it ends.
func startOn(ctx context.Context, intr *interrupts, tg target.Target, req *client.Request, stdout, stderr io.Writer) (*client.Client, *client.Process, error) {
	c, err := client.Dial(ctx, tg.Options...)
	if err != nil {
		return nil, nil, err
	}
	intr.starting()
	p, err := c.Start(ctx, req, stdout, stderr)
	if err != nil {
		intr.startFailed()
		c.Close()
		return nil, nil, err
	}
	intr.attach(p)
	return c, p, nil
}

// localTerminal is the caller's terminal during `exec -t`.
type localTerminal struct {
	term       *termio.Terminal
	size       client.WindowSize // as sent with the request
	restore    func()
	resized    chan struct{}
	stopResize func()
}

// openTerminal puts stdin's terminal in raw mode and starts noting its size
// changes, both before the call starts: nothing the command prints or
// reads, and no resize, can slip in before. Call restore on every way out
// (it also stops the notes).
func openTerminal(st Streams) (*localTerminal, error) {
	term, err := termio.Open(st.In)
	if err != nil {
		return nil, fmt.Errorf("-t needs a terminal on stdin: %w", err)
	}
	rows, cols, err := term.Size()
	if err != nil {
		return nil, err
	}
	raw, err := term.MakeRaw()
	if err != nil {
		return nil, err
	}
	t := &localTerminal{term: term, size: client.WindowSize{Rows: rows, Cols: cols}, resized: make(chan struct{}, 1)}
	t.stopResize = termio.NotifyResize(t.resized)
	t.restore = func() {
		t.stopResize()
		raw()
	}
	return t, nil
}

// follow forwards the terminal's size to p whenever it changes, starting
// with any change since the request was made, until stop is called.
func (t *localTerminal) follow(p *client.Process) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	sent := t.size
	update := func() {
		if rows, cols, err := t.term.Size(); err == nil && (client.WindowSize{Rows: rows, Cols: cols}) != sent {
			sent = client.WindowSize{Rows: rows, Cols: cols}
			_ = p.Resize(sent) // fails only once the call has ended
		}
	}
	go func() {
		defer close(exited)
		update()
		for {
			select {
			case <-t.resized:
				update()
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}
