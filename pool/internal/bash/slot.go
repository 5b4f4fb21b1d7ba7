//go:build linux

package bash

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/signals"
)

// slot is one pre-forked child of an isolated session and its private
// channels: pipes for stdout (o), stderr (e), the call's own status (s) and
// the wake-up (w), a memory file for the job (j), and for calls with input a
// stdin pipe (i). The pool holds one end of each; the child opens the other
// itself, through /proc/<pool pid>/fd/<n>, before it reports ready. Fresh
// channels per call mean that no byte written by one call's leftovers can
// reach another call (C5).
type slot struct {
	n int

	o, e, s *os.File // read ends, on the runtime poller
	w       *os.File // write end: one byte wakes the child
	j       *os.File // memfd: the job, written just before the wake-up

	// Filled in by the session's status reader; read after the matching
	// signal fired.
	pid    int
	ready  signals.Signal
	exited signals.Signal // the shell reaped the child; rc is its $?
	rc     int
	failed string
}

// newSlot makes slot n's channels. The ends the pool does not keep are
// closed at once: the child reopens the pipe through the kept end.
func newSlot(n int) (*slot, error) {
	sl := &slot{n: n}
	var err error
	pipe := func(keep int) *os.File {
		if err != nil {
			return nil
		}
		var fds [2]int
		if err = unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			return nil
		}
		unix.Close(fds[1-keep])
		return os.NewFile(uintptr(fds[keep]), "pipe")
	}
	sl.o, sl.e, sl.s = pipe(0), pipe(0), pipe(0)
	sl.w = pipe(1)
	if err == nil {
		var fd int
		if fd, err = unix.MemfdCreate("mothreads-job", unix.MFD_CLOEXEC); err == nil {
			sl.j = os.NewFile(uintptr(fd), "job")
		}
	}
	if err != nil {
		sl.close()
		return nil, fmt.Errorf("slot %d: %w", n, err)
	}
	return sl, nil
}

// announcement is the fixed-width line that tells the shell about the slot:
// its number and the pool's descriptors for o, e, s, w and j. Fixed width
// lets the shell read it with one read(2).
func (sl *slot) announcement() []byte {
	return fmt.Appendf(nil, "%08d%06d%06d%06d%06d%06d\n", sl.n, fdOf(sl.o), fdOf(sl.e), fdOf(sl.s), fdOf(sl.w), fdOf(sl.j))
}

// fdOf returns f's descriptor number without switching it to blocking mode,
// as File.Fd would.
func fdOf(f *os.File) int {
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(u uintptr) { fd = int(u) })
	}
	return fd
}

// announcementLen is the length of an announcement; session.bash reads one
// with `read -r -N 39` (TestAnnouncementLength keeps the two equal).
const announcementLen = 8 + 5*6 + 1

// writeJob writes the job; the child opened the memfd while idle and reads
// it after the wake-up.
func (sl *slot) writeJob(job []byte) error {
	if _, err := sl.j.WriteAt(job, 0); err != nil {
		return fmt.Errorf("slot %d: job: %w", sl.n, err)
	}
	return nil
}

// stdinPipe makes a call's stdin pipe. The pool writes to w; the child
// opens the read side through r's descriptor, so r must stay open until the
// call ends. Closing w (and not r, which only reads) gives the child EOF.
func stdinPipe() (w, r *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("stdin pipe: %w", err)
	}
	return w, r, nil
}

// wake tells the child to read its job and run it.
func (sl *slot) wake() error {
	_, err := sl.w.Write([]byte{'g'})
	return err
}

// close releases the pool's ends. A child still waiting on the slot sees
// EOF on its wake pipe and exits without running anything.
func (sl *slot) close() {
	for _, f := range []*os.File{sl.o, sl.e, sl.s, sl.w, sl.j} {
		if f != nil {
			f.Close()
		}
	}
}
