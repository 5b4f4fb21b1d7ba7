package execcmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mothreads/mothreads/client"
)

// interrupted is the cause of a call cancelled by a signal to the CLI.
type interrupted struct{ sig syscall.Signal }

func (i *interrupted) Error() string { return fmt.Sprintf("interrupted by %v", i.sig) }

// interrupts turns the CLI's signals into actions on the call: the first
// SIGINT is forwarded to the command; a second SIGINT, or SIGTERM or
// SIGHUP, cancels the call, which kills the command's tree.
//
// A first SIGINT before the call is being started (while a daemon
// auto-starts) cancels at once: there is no command to give it to. One that
// comes while the call is being started is held and forwarded once the
// command runs (attach), or cancels when that start fails (startFailed):
// the command's output can reach the terminal before Start has returned
// the Process, and a Ctrl-C the user sends after seeing it must still go to
// the command.
type interrupts struct {
	sigs   chan os.Signal
	phases chan phase
	cancel context.CancelCauseFunc
	done   chan struct{}
	exited chan struct{}
}

// phase is a step of the call's start, told to the loop: p is set once the
// command runs; failed when a start failed; neither when a start begins.
type phase struct {
	p      *client.Process
	failed bool
}

// watchInterrupts starts handling the signals; call stop when the call is
// over. While it runs, the signals no longer end the process, which is what
// lets the terminal be restored on every way out.
func watchInterrupts(cancel context.CancelCauseFunc) *interrupts {
	i := &interrupts{sigs: make(chan os.Signal, 4), phases: make(chan phase), cancel: cancel,
		done: make(chan struct{}), exited: make(chan struct{})}
	signal.Notify(i.sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go i.loop()
	return i
}

// starting says that the call is being started (Client.Start).
func (i *interrupts) starting() { i.phases <- phase{} }

// startFailed says that the start begun by starting failed.
func (i *interrupts) startFailed() { i.phases <- phase{failed: true} }

// attach says that the command now runs as p.
func (i *interrupts) attach(p *client.Process) { i.phases <- phase{p: p} }

func (i *interrupts) loop() {
	defer close(i.exited)
	var proc *client.Process
	starting, forwarded, held := false, false, false
	intr := func(sig syscall.Signal) { i.cancel(&interrupted{sig: sig}) }
	for {
		select {
		case <-i.done:
			return
		case ph := <-i.phases:
			switch {
			case ph.p != nil:
				proc, starting = ph.p, false
				if held && proc.Signal(syscall.SIGINT) != nil {
					intr(syscall.SIGINT)
				}
			case ph.failed:
				starting = false
				if held {
					intr(syscall.SIGINT)
				}
			default:
				starting = true
			}
			held = false
		case s := <-i.sigs:
			sig, _ := s.(syscall.Signal)
			if sig == syscall.SIGINT && !forwarded {
				forwarded = true
				if proc != nil && proc.Signal(syscall.SIGINT) == nil {
					continue
				}
				if proc == nil && starting {
					held = true
					continue
				}
			}
			intr(sig)
		}
	}
}

// stop stops handling the signals.
func (i *interrupts) stop() {
	signal.Stop(i.sigs)
	close(i.done)
	<-i.exited
}

// survivePipeWrites makes writes to a closed pipe on the CLI's stdout and
// stderr fail with EPIPE instead of killing the CLI with SIGPIPE: the CLI
// then stops delivering that stream and the command's own next write to it
// fails, as if the command wrote to that pipe itself (see Process.Wait),
// while the other stream and the exit status go on. The notification is
// never read and never stopped: it only changes what such a write does.
// (Go resets a notified signal to its default in the programs it starts, so
// nothing the CLI starts inherits it.)
func survivePipeWrites() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}
