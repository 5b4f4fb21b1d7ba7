//go:build linux

package proc

import (
	"os"

	"golang.org/x/sys/unix"
)

// readNow reads from f what is available without waiting: (0, nil) at end
// of file, an error (EAGAIN among them) when nothing is there. It ignores
// f's read deadline.
func readNow(f *os.File, buf []byte) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	if err := rc.Control(func(fd uintptr) { n, rerr = unix.Read(int(fd), buf) }); err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	return n, nil
}

// defaultPipeCapacity is Linux's default pipe size, used when the pipe's
// own cannot be read.
const defaultPipeCapacity = 64 << 10

// pipeCapacity is how many bytes the pipe f reads from can hold.
func pipeCapacity(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return defaultPipeCapacity
	}
	size := 0
	rc.Control(func(fd uintptr) { size, _ = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) })
	if size <= 0 {
		return defaultPipeCapacity
	}
	return size
}
