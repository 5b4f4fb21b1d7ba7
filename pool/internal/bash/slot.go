//go:build linux

package bash

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/signals"
)

// slot is one call's worth of channels: FIFOs for the command's stdout (o),
// stderr (e) and input (i: the job, then stdin), made fresh in the
// session's private directory under a random name. The pool opens its ends
// first (o and e for reading, i for reading and writing), so the child's
// opens never block; once the child has opened its ends, the names are
// removed, and the only way to these pipes is through the two processes
// that hold them. Fresh FIFOs per call mean nothing a call leaves behind can
// write into another call's output.
//
// In an isolated session a slot belongs to one pre-forked child, which opens
// it while idle; in a sticky session to one call, which the shell opens.
type slot struct {
	n      int
	token  string // the FIFOs are dir/token.o, .e, .i
	prefix string // dir/token

	// hidden is the directory of a sticky slot made ahead, which holds its
	// FIFOs ("": the session's directory does; see prepareSticky).
	hidden string

	o, e *os.File // read ends, on the runtime poller
	i    *os.File // read-write end: the job, then stdin; closing it is EOF

	// Filled in when the child reports; read after ready fired.
	pid      int            // from the fork report
	pidfd    int            // -1 until the fork report
	forked   signals.Signal // the child's pid is known (from either report)
	sawFork  bool           // the shell's fork report came
	ready    signals.Signal
	failed   string
	used     bool // handed to a call
	unlinked bool // the FIFOs' names are gone

	// end is the read end of the child's end FIFO, DIR/PID (nil: none),
	// held read-write so that it never reads as ended.
	end *os.File

	// From the child's set-up report, once its call is handed to it.
	setup       signals.Signal // "s" or "e" came
	setupFailed string         // what "e" named (cwd)
}

// newSlot makes slot n's FIFOs in dir and opens the pool's ends.
func newSlot(dir string, n int) (*slot, error) {
	var b [16]byte
	rand.Read(b[:])
	sl := &slot{n: n, token: hex.EncodeToString(b[:]), pidfd: -1}
	sl.prefix = filepath.Join(dir, sl.token)
	open := func(suffix string, flags int) (*os.File, error) {
		p := sl.prefix + suffix
		if err := unix.Mkfifo(p, 0o600); err != nil {
			return nil, fmt.Errorf("slot %d: %w", n, err)
		}
		fd, err := unix.Open(p, flags|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			return nil, fmt.Errorf("slot %d: open %s: %w", n, p, err)
		}
		return os.NewFile(uintptr(fd), p), nil
	}
	var err error
	if sl.o, err = open(".o", unix.O_RDONLY); err == nil {
		if sl.e, err = open(".e", unix.O_RDONLY); err == nil {
			sl.i, err = open(".i", unix.O_RDWR)
		}
	}
	if err != nil {
		sl.close()
		return nil, err
	}
	return sl, nil
}

// unlink removes the FIFOs' names: the child has opened them, or never will.
func (sl *slot) unlink() {
	if sl.unlinked {
		return
	}
	sl.unlinked = true
	for _, s := range []string{".o", ".e", ".i"} {
		// A failure leaves a name that goes with the session directory.
		unix.Unlink(sl.prefix + s)
	}
}

// close releases the pool's ends (those not handed on) and the names. A
// child still waiting for its job sees the end of its input and exits.
func (sl *slot) close() {
	for _, f := range []*os.File{sl.o, sl.e, sl.i, sl.end} {
		if f != nil {
			f.Close()
		}
	}
	if sl.end != nil {
		unix.Unlink(sl.end.Name())
	}
	if sl.pidfd >= 0 {
		unix.Close(sl.pidfd)
		sl.pidfd = -1
	}
	sl.unlink()
	if sl.hidden != "" {
		os.Chmod(sl.hidden, 0o700)
		os.RemoveAll(sl.hidden)
		sl.hidden = ""
	}
}
