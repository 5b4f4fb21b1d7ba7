//go:build linux

package proc

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// readProc reads a small /proc file into buf and returns what it holds:
// three system calls, where os.ReadFile takes six (a /proc file is made
// when it is read, so there is nothing to stat, and it is no use to the
// runtime poller). A file longer than buf is cut short.
func readProc(buf []byte, path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

// statFields returns the fields of /proc/PID/stat after the command name
// (the first is the state, field 3 in proc(5)), or nil if pid is gone.
func statFields(pid int) [][]byte {
	var buf [1024]byte
	b, err := readProc(buf[:], "/proc/"+strconv.Itoa(pid)+"/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return bytes.Fields(b[i+1:])
}

// statInt returns field n of proc(5)'s /proc/PID/stat (n >= 3) as a number.
func statInt(f [][]byte, n int) (int, bool) {
	if len(f) <= n-3 {
		return 0, false
	}
	v, err := strconv.Atoi(string(f[n-3]))
	return v, err == nil
}

// Parent returns the parent pid of pid, from /proc/PID/stat.
func Parent(pid int) (int, bool) {
	return statInt(statFields(pid), 4)
}

// ForegroundGroup returns the foreground process group of pid's
// controlling terminal (the tpgid field of /proc/PID/stat), or -1.
func ForegroundGroup(pid int) int {
	g, ok := statInt(statFields(pid), 8)
	if !ok {
		return -1
	}
	return g
}

// ProcStat is what Stat reads of /proc/PID/stat.
type ProcStat struct {
	State string // R, S, D, T, Z, ...
	PPID  int
	PGID  int
	SID   int
}

// Stat reads pid's state, parent, process group and session (zero values
// if pid is gone).
func Stat(pid int) ProcStat {
	f := statFields(pid)
	if len(f) < 4 {
		return ProcStat{}
	}
	n := func(i int) int { v, _ := statInt(f, i); return v }
	return ProcStat{State: string(f[0]), PPID: n(4), PGID: n(5), SID: n(6)}
}

// pfExiting is the kernel's PF_EXITING task flag: set as a process begins
// to exit, before its memory and descriptors go.
const pfExiting = 0x4

// Ending reports whether pid is exiting, has exited or is gone: nothing is
// left of it to end.
func Ending(pid int) bool {
	f := statFields(pid)
	if len(f) == 0 {
		return true
	}
	flags, _ := statInt(f, 9)
	switch string(f[0]) {
	case "Z", "X":
		return true
	}
	return flags&pfExiting != 0
}

// Exiting reports whether pid has begun to exit and, if so, the exit status
// the kernel holds for it so far (the exit_code field of /proc/PID/stat, a
// wait status). The kernel sets the flag a moment before the status: a
// caller that knows what status to expect reads again until they agree.
// Exiting takes a process's exit long before its parent can wait for it:
// while a forked shell's memory goes, which is most of the time an exit
// takes.
func Exiting(pid int) (unix.WaitStatus, bool) {
	f := statFields(pid)
	flags, ok := statInt(f, 9)
	if !ok || flags&pfExiting == 0 {
		return 0, false
	}
	code, ok := statInt(f, 52)
	return unix.WaitStatus(code), ok
}

// ReadingFD reports the descriptor pid is blocked reading (in read(2)), from
// /proc/PID/syscall.
func ReadingFD(pid int) (int, bool) {
	var buf [256]byte
	b, err := readProc(buf[:], "/proc/"+strconv.Itoa(pid)+"/syscall")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 || string(f[0]) != "0" {
		return 0, false
	}
	fd, err := strconv.ParseInt(strings.TrimPrefix(string(f[1]), "0x"), 16, 32)
	return int(fd), err == nil
}

// Quiet reports whether pid is asleep in wait(2) for a child: a shell that
// is doing nothing, and has handled every signal sent to it so far that it
// does not block (the kernel wakes it to deliver one, and a task that is
// awake has no wait channel). One small read.
func Quiet(pid int) bool {
	var buf [64]byte
	w, err := readProc(buf[:], "/proc/"+strconv.Itoa(pid)+"/wchan")
	return err == nil && string(w) == "do_wait"
}
