//go:build linux

package proc

import (
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/signals"
)

// WatchPidfd returns a Signal that fires when the process of pidfd exits
// (any process: a pidfd reads ready once its process has exited), watched
// on the runtime poller, and a function that stops watching. pidfd stays
// the caller's: the watch works on a duplicate.
func WatchPidfd(pidfd int) (*signals.Signal, func()) {
	var ended signals.Signal
	fd, err := unix.FcntlInt(uintptr(pidfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		ended.Go()
		return &ended, func() {}
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		ended.Go()
		return &ended, func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := rc.Read(func(uintptr) bool {
			n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
			return n > 0
		})
		if err == nil {
			ended.Go()
		}
	}()
	return &ended, func() {
		f.SetReadDeadline(time.Now())
		<-done
		f.Close()
	}
}

// PidfdExited reports at once whether the process of pidfd has exited.
func PidfdExited(pidfd int) bool {
	n, _ := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, 0)
	return n > 0
}
