package execcmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/mothreads/mothreads/client"
)

// interrupted is the cause of a call cancelled by a signal to the CLI.
type interrupted struct{ sig syscall.Signal }

func (i *interrupted) Error() string { return fmt.Sprintf("interrupted by %v", i.sig) }

// interrupts turns the CLI's signals into actions on the call: the first
// SIGINT is forwarded to the command (once it runs); a second SIGINT, or
// SIGTERM or SIGHUP, cancels the call, which kills the command's tree.
type interrupts struct {
	sigs   chan os.Signal
	proc   atomic.Pointer[client.Process]
	cancel context.CancelCauseFunc
	done   chan struct{}
	exited chan struct{}
}

// watchInterrupts starts handling the signals; call stop when the call is
// over. While it runs, the signals no longer end the process, which is what
// lets the terminal be restored on every way out.
func watchInterrupts(cancel context.CancelCauseFunc) *interrupts {
	i := &interrupts{sigs: make(chan os.Signal, 4), cancel: cancel, done: make(chan struct{}), exited: make(chan struct{})}
	signal.Notify(i.sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go i.loop()
	return i
}

// attach says that the command now runs as p.
func (i *interrupts) attach(p *client.Process) { i.proc.Store(p) }

func (i *interrupts) loop() {
	defer close(i.exited)
	forwarded := false
	for {
		select {
		case <-i.done:
			return
		case s := <-i.sigs:
			sig, _ := s.(syscall.Signal)
			if sig == syscall.SIGINT && !forwarded {
				forwarded = true
				if p := i.proc.Load(); p != nil && p.Signal(syscall.SIGINT) == nil {
					continue
				}
			}
			i.cancel(&interrupted{sig: sig})
		}
	}
}

// stop stops handling the signals.
func (i *interrupts) stop() {
	signal.Stop(i.sigs)
	close(i.done)
	<-i.exited
}
