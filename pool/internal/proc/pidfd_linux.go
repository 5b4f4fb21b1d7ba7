//go:build linux

package proc

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/signals"
)

// WatchProcess returns a Signal that fires when process pid (not a child of
// ours) exits, watched through a pidfd on the runtime poller, and a function
// that stops watching. It returns nil if the process is already gone.
func WatchProcess(pid int) (*signals.Signal, func()) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, nil
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil
	}
	var ended signals.Signal
	go func() {
		defer ended.Go()
		// A pidfd reads as ready once the process has exited; Read waits
		// for that on the poller, and fails once f is closed.
		rc.Read(func(uintptr) bool {
			n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
			return n > 0
		})
	}()
	return &ended, func() { f.Close() }
}
