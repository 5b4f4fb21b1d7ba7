package client

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// checkPeer checks that the process listening on conn runs as uid, as the
// kernel reports it (SO_PEERCRED: the listener's credentials when it called
// listen).
func checkPeer(conn *net.UnixConn, socket string, uid int) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("reading the daemon's credentials on %s: %w", socket, err)
	}
	var cred *unix.Ucred
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		cred, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		gerr = err
	}
	if gerr != nil {
		return fmt.Errorf("reading the daemon's credentials on %s: %w", socket, gerr)
	}
	if int(cred.Uid) != uid {
		return &peerError{socket: socket, uid: int(cred.Uid), want: uid}
	}
	return nil
}
