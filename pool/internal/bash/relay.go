//go:build linux

package bash

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// relaySignals are the signals that an isolated session's shell passes on
// (session.bash: __mt_sigs), by the names its traps write.
var relaySignals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "ALRM": syscall.SIGALRM,
	"TERM": syscall.SIGTERM, "CONT": syscall.SIGCONT,
}

// sigRelay passes on the signals sent to an isolated session's shell, which
// is $$ of every call: the shell's traps write "g NAME\n" to the signal
// pipe, and the relay sends the signal to the process of the call in
// progress, as if $$ had named it.
//
// A signal reaches the call late (the script runs on meanwhile), but never
// another call: before a call is over, fence waits until the shell has
// handled every signal sent to it and the relay has read what it wrote.
type sigRelay struct {
	feed   *lineFeed
	f      *os.File   // the pipe's read end, non-blocking
	target func() int // the pid of the call in progress, 0 if none
	log    *slog.Logger

	mu sync.Mutex
	// ownCont counts the SIGCONTs that the pool sent the shell itself (to
	// resume it when a call stopped it): the shell's trap reports them
	// too, and they are not passed on.
	ownCont int
	// settled fires once the shell has handled every signal sent to it
	// during the last call (nil: it had by the call's end; see fence).
	settled *signals.Signal
	// settleLimit bounds how long an unsettled shell may keep the next
	// call waiting (see fence) before it is handed to retire.
	settleLimit time.Duration

	// Of the session: its shell has exited; the work that Close waits for;
	// what retires it.
	gone    *signals.Signal
	pending *sync.WaitGroup
	retire  func(why string)
}

const defaultSettleLimit = 5 * time.Second

// newSigRelay returns the relay of the shell whose signal pipe's read end
// is f; target, gone, pending and retire are the session's (see sigRelay).
func newSigRelay(f *os.File, target func() int, log *slog.Logger, gone *signals.Signal, pending *sync.WaitGroup, retire func(string)) (*sigRelay, error) {
	rl := &sigRelay{f: f, target: target, log: log, settleLimit: defaultSettleLimit, gone: gone, pending: pending, retire: retire}
	feed, err := newLineFeed(f, nil, rl.pass)
	if err != nil {
		return nil, err
	}
	rl.feed = feed
	return rl, nil
}

// run passes signals on until the shell closes the pipe (it exits) or
// close is called.
func (rl *sigRelay) run() { rl.feed.run() }

// pass passes on the signal of one line from the shell's trap.
func (rl *sigRelay) pass(line []byte) error {
	name, ok := bytes.CutPrefix(line, []byte("g "))
	sig, known := relaySignals[string(name)]
	if !ok || !known {
		rl.log.Warn("signal pipe: not a signal report", "line", truncate(string(line), 40))
		return nil
	}
	if sig == syscall.SIGCONT {
		rl.mu.Lock()
		own := rl.ownCont > 0
		if own {
			rl.ownCont--
		}
		rl.mu.Unlock()
		if own {
			return nil
		}
	}
	if pid := rl.target(); pid > 0 {
		syscall.Kill(pid, sig)
	}
	return nil
}

// resumed notes that the pool itself sent SIGCONT to the shell.
func (rl *sigRelay) resumed() {
	rl.mu.Lock()
	rl.ownCont++
	rl.mu.Unlock()
}

// fence returns once every signal sent to the shell (pid) before it was
// called has been passed on: the shell is back asleep in wait (so it has
// run its traps, the relayed signals being ones it does not block), and the
// pipe is read to its end.
//
// A shell that has not settled within limit (it is not scheduled, on a
// loaded machine; it is stopped, or flooded with signals) does not hold up
// the call that ends: fence returns, and the relay stays unsettled until
// the shell is quiet and the pipe read, which a goroutine counted in
// rl.pending watches. The next call must wait for that (awaitSettled)
// before it becomes the relay's target: a late signal then finds no call
// to go to, never the next one. A shell still unsettled after
// rl.settleLimit is handed to rl.retire; one that is gone is left to its
// end.
func (rl *sigRelay) fence(pid int, limit time.Duration) {
	if proc.Quiet(pid) {
		rl.feed.sync()
		return
	}
	quiet := func() (bool, bool) { return proc.Quiet(pid), rl.gone.Fired() }
	if poll(limit, quiet) {
		rl.feed.sync()
		return
	}
	rl.log.Warn("the session's shell has not settled: the next call waits until it has", "pid", pid, "after", limit)
	settled := signals.New()
	rl.mu.Lock()
	rl.settled = settled
	rl.mu.Unlock()
	rl.pending.Add(1)
	go func() {
		defer rl.pending.Done()
		defer settled.Go()
		if poll(rl.settleLimit, quiet) {
			rl.feed.sync()
			return
		}
		if !rl.gone.Fired() {
			rl.retire(fmt.Sprintf("the shell did not settle within %v of its call's end (stopped, or flooded with signals): a signal sent to $$ could reach the next call", rl.settleLimit))
		}
	}()
}

// awaitSettled waits until the relay has settled after the last call (see
// fence), or cancel fires; it reports whether it settled.
func (rl *sigRelay) awaitSettled(cancel *signals.Signal) bool {
	rl.mu.Lock()
	settled := rl.settled
	rl.mu.Unlock()
	if settled == nil {
		return true
	}
	return settled.WaitTill(cancel)
}

func (rl *sigRelay) close() { rl.f.Close() }
