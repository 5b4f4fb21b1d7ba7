//go:build linux

package bash

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool/internal/proc"
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
	mu      sync.Mutex // held while the pipe is read and a signal passed on
	f       *os.File   // the pipe's read end, non-blocking
	rc      syscall.RawConn
	partial []byte
	target  func() int // the pid of the call in progress, 0 if none
	log     *slog.Logger
	// ownCont counts the SIGCONTs that the pool sent the shell itself (to
	// resume it when a call stopped it): the shell's trap reports them
	// too, and they are not passed on. Guarded by mu.
	ownCont int
}

func newSigRelay(f *os.File, target func() int, log *slog.Logger) (*sigRelay, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &sigRelay{f: f, rc: rc, target: target, log: log}, nil
}

// run passes signals on until the shell closes the pipe (it exits) or
// close is called.
func (rl *sigRelay) run() {
	rl.rc.Read(func(fd uintptr) bool {
		rl.mu.Lock()
		defer rl.mu.Unlock()
		return rl.drain(int(fd))
	})
}

// drain reads what the pipe holds and passes on each signal; it reports
// whether the pipe has ended. rl.mu is held.
func (rl *sigRelay) drain(fd int) (ended bool) {
	var buf [256]byte
	for {
		n, err := unix.Read(fd, buf[:])
		if n > 0 {
			rl.partial = append(rl.partial, buf[:n]...)
			rl.pass()
			continue
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return !errors.Is(err, unix.EAGAIN)
	}
}

// pass passes on the complete lines read so far. rl.mu is held.
func (rl *sigRelay) pass() {
	for {
		line, rest, ok := bytes.Cut(rl.partial, []byte("\n"))
		if !ok {
			if len(rl.partial) > 64 {
				rl.partial = rl.partial[:0] // not from the trap: nothing to do
			}
			return
		}
		rl.partial = rest
		name, ok := bytes.CutPrefix(line, []byte("g "))
		sig, known := relaySignals[string(name)]
		if !ok || !known {
			rl.log.Warn("signal pipe: not a signal report", "line", truncate(string(line), 40))
			continue
		}
		if sig == syscall.SIGCONT && rl.ownCont > 0 {
			rl.ownCont--
			continue
		}
		if pid := rl.target(); pid > 0 {
			syscall.Kill(pid, sig)
		}
	}
}

// resumed notes that the pool itself sent SIGCONT to the shell.
func (rl *sigRelay) resumed() {
	rl.mu.Lock()
	rl.ownCont++
	rl.mu.Unlock()
}

// fence returns once every signal sent to the shell (pid) before it was
// called has been passed on: the shell is back asleep in wait with nothing
// pending, and the pipe is read to its end. A shell that does not settle
// within limit (stopped, or flooded with signals) is given up on.
func (rl *sigRelay) fence(pid int, limit time.Duration) {
	if !proc.Quiet(pid) {
		deadline := time.Now().Add(limit)
		for pause := 20 * time.Microsecond; !proc.Quiet(pid); pause = min(2*pause, time.Millisecond) {
			if time.Now().After(deadline) {
				rl.log.Warn("the session's shell did not settle: a signal sent to $$ may reach the next call", "pid", pid)
				break
			}
			time.Sleep(pause)
		}
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.rc.Control(func(fd uintptr) { rl.drain(int(fd)) })
}

func (rl *sigRelay) close() { rl.f.Close() }
