package daemon

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

// listenFDsStart is the first descriptor that socket activation passes
// (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// ActivatedListeners returns the listening sockets passed by socket
// activation (systemd's protocol: LISTEN_PID is this process, LISTEN_FDS
// the number of sockets, from descriptor 3 on), or none when there are
// none for this process. It unsets LISTEN_PID, LISTEN_FDS and
// LISTEN_FDNAMES, so that the processes the daemon starts do not take them
// for theirs, and closes the passed descriptors after duplicating them.
//
// Call it before anything else opens files, and at most once: the
// descriptors are consumed.
func ActivatedListeners() ([]net.Listener, error) {
	pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
	defer func() {
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
	}()
	if pid == "" || fds == "" {
		return nil, nil
	}
	if p, err := strconv.Atoi(pid); err != nil || p != os.Getpid() {
		return nil, nil // meant for another process (our parent, say)
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("socket activation: LISTEN_FDS=%q is not a count", fds)
	}
	var ls []net.Listener
	for fd := listenFDsStart; fd < listenFDsStart+n; fd++ {
		f := os.NewFile(uintptr(fd), "LISTEN_FD_"+strconv.Itoa(fd))
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("socket activation: descriptor %d: %w (only stream sockets: ListenStream=)", fd, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}
