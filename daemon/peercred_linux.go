package daemon

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/credentials"
)

// peerCredOf asks the kernel who is on the other end of c (SO_PEERCRED): the
// process that connected, as it was when it called connect.
func peerCredOf(c *net.UnixConn) peerCred {
	raw, err := c.SyscallConn()
	if err != nil {
		return peerCred{Known: true, Err: fmt.Errorf("peer credentials: %w", err)}
	}
	var (
		cred *unix.Ucred
		gerr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		gerr = err
	}
	if gerr != nil {
		return peerCred{Known: true, Err: fmt.Errorf("peer credentials: %w", gerr)}
	}
	return peerCred{
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
		Known:          true, PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid),
	}
}
