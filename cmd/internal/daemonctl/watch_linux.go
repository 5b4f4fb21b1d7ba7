package daemonctl

import (
	"context"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// pidfdWatch waits for a process through its pidfd, which becomes readable
// when the process exits.
type pidfdWatch struct{ fd int }

// watchPeer returns a watch on the process that serves on socket: the
// kernel reports its pid to a connecting peer (SO_PEERCRED), translated
// into this process's pid namespace. It returns nil when that fails (an
// untranslatable pid is 0).
func watchPeer(socket string) exitWatch {
	conn, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return nil
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return nil
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred.Pid <= 0 {
		return nil
	}
	fd, err := unix.PidfdOpen(int(cred.Pid), 0)
	if err != nil {
		return nil
	}
	return &pidfdWatch{fd: fd}
}

func (w *pidfdWatch) wait(ctx context.Context) bool {
	for {
		// poll(2) cannot watch ctx: wake up every 100 ms to look at it.
		wait := 100 * time.Millisecond
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(max(wait, 0)/time.Millisecond))
		if n > 0 {
			return true
		}
		if err != nil && err != unix.EINTR {
			return false
		}
		if ctx.Err() != nil {
			return false
		}
	}
}

func (w *pidfdWatch) close() { unix.Close(w.fd) }
