package pool

import (
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/signals"
)

// SessionInfo describes a sticky session (see Pool.Sessions).
type SessionInfo struct {
	Name string
	// PID is the session shell's process id; 0 while it starts.
	PID int
	// Dir is the shell's current directory.
	Dir string
	// Created is when the session was created, LastUsed when its last call
	// ended (or started, while Busy).
	Created, LastUsed time.Time
	// Calls counts the calls it ran.
	Calls int
	// Busy says a call runs in it; Waiting says what that call's command
	// is blocked reading: "stdin" (see Request.OpenStdin and Pool.Input),
	// "terminal", or "".
	Busy    bool
	Waiting string
	// IdleTimeout is how long it may stay unused before it is closed
	// (zero: never).
	IdleTimeout time.Duration
	// Jobs are its background jobs (and, while Busy, its foreground job).
	Jobs []Job
	// LogSize counts the bytes its background jobs wrote after their call
	// ended (see Pool.SessionLog).
	LogSize int64
}

// Job is one job of a sticky session: a process group its shell started.
type Job = driver.Job

// ErrNoSession is the cause of errors about a sticky session that does not
// exist (a NotFound RequestError naming "session").
var ErrNoSession = errors.New("no such sticky session")

func noSession(name string) error {
	return &RequestError{Field: "session", Kind: NotFound, Err: ErrNoSession,
		Problem: fmt.Sprintf("no sticky session %q", name)}
}

// Sessions describes the sticky sessions, by name.
func (p *Pool) Sessions() []SessionInfo {
	p.mu.Lock()
	names := make([]string, 0, len(p.sticky))
	for n := range p.sticky {
		names = append(names, n)
	}
	p.mu.Unlock()
	slices.Sort(names)
	out := make([]SessionInfo, 0, len(names))
	for _, n := range names {
		if info, ok := p.Session(n); ok {
			out = append(out, info)
		}
	}
	return out
}

// Session describes the sticky session name.
func (p *Pool) Session(name string) (SessionInfo, bool) {
	p.mu.Lock()
	ss := p.sticky[name]
	if ss == nil {
		p.mu.Unlock()
		return SessionInfo{}, false
	}
	info := SessionInfo{Name: name, Created: ss.created, Calls: ss.calls, Busy: ss.busy, IdleTimeout: ss.idleTimeout}
	var sh driver.StickyShell
	if s := ss.sess; s != nil {
		info.LastUsed = s.lastUsed
		if s.sh != nil {
			info.PID = s.sh.PID()
			sh, _ = s.sh.(driver.StickyShell)
		}
	}
	p.mu.Unlock()
	if sh != nil {
		// Reading /proc is done without the pool's lock.
		info.Dir = sh.Dir()
		info.Jobs = sh.Jobs()
		_, info.LogSize, _ = sh.Log(0)
		if info.Busy {
			info.Waiting = sh.Waiting()
		}
	}
	return info, true
}

// stickyShell returns the shell of sticky session name and its call in
// progress (nil if none).
func (p *Pool) stickyShell(name string) (driver.StickyShell, *driver.Call, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ss := p.sticky[name]
	if ss == nil || ss.sess == nil || ss.sess.sh == nil {
		return nil, nil, noSession(name)
	}
	sh, ok := ss.sess.sh.(driver.StickyShell)
	if !ok {
		return nil, nil, &RequestError{Field: "session", Kind: Invalid, Problem: "this pool's shell has no sticky sessions"}
	}
	return sh, ss.sess.current, nil
}

// CloseSession closes the sticky session name: a call running in it is
// cancelled, and the shell and every job it started are stopped. It returns
// once the session is gone from the pool's list (its processes end within
// the kill grace).
func (p *Pool) CloseSession(name string) error {
	p.mu.Lock()
	ss := p.sticky[name]
	if ss == nil {
		p.mu.Unlock()
		return noSession(name)
	}
	delete(p.sticky, name)
	var c *driver.Call
	if s := ss.sess; s != nil {
		c = s.current
		p.retireLocked(s, false)
	}
	for _, w := range ss.waiters {
		w.fail(&RequestError{Field: "session", Kind: Unavailable,
			Problem: fmt.Sprintf("sticky session %q was closed", name)})
	}
	p.mu.Unlock()
	if c != nil {
		c.CancelWith(fmt.Sprintf("sticky session %q was closed", name))
	}
	p.kickKeeper()
	return nil
}

// Interrupt interrupts the command that runs in sticky session name, as ^C
// on a terminal does: its foreground job gets SIGINT, and the rest of the
// call's script is skipped; the call ends Interrupted, and the session and
// its state stay. It is an error if the session runs no call.
func (p *Pool) Interrupt(name string) error {
	_, c, err := p.stickyShell(name)
	if err != nil {
		return err
	}
	if c == nil {
		return &RequestError{Field: "session", Kind: Invalid, Problem: fmt.Sprintf("sticky session %q runs no call", name)}
	}
	c.Control(driver.Control{Sig: syscall.SIGINT})
	return nil
}

// SessionLog returns what the background jobs of sticky session name wrote
// after the calls that started them ended: the bytes from offset from (a
// negative from means the last -from bytes; the log keeps the last MiB),
// the offset after them, and a channel that is closed when more comes.
func (p *Pool) SessionLog(name string, from int64) (data []byte, next int64, more <-chan struct{}, err error) {
	sh, _, err := p.stickyShell(name)
	if err != nil {
		return nil, 0, nil, err
	}
	var sig *signals.Signal
	data, next, sig = sh.Log(from)
	return data, next, sig.Done(), nil
}

// Input writes data to the command that runs in sticky session name: to its
// stdin if the call was started with Request.OpenStdin, or with tty to the
// session's terminal (where programs that open /dev/tty prompt). eof ends
// that input (closes stdin; ^D on the terminal).
func (p *Pool) Input(name string, data []byte, eof, tty bool) error {
	sh, c, err := p.stickyShell(name)
	if err != nil {
		return err
	}
	if c == nil {
		return &RequestError{Field: "session", Kind: Invalid, Problem: fmt.Sprintf("sticky session %q runs no call", name)}
	}
	if err := sh.Input(data, eof, tty); err != nil {
		return &RequestError{Field: "session", Kind: Invalid, Problem: err.Error(), Err: err}
	}
	return nil
}
