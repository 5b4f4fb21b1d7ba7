package cloexec

import "golang.org/x/sys/unix"

// from uses close_range(2) with CLOSE_RANGE_CLOEXEC (Linux 5.11), and falls
// back to one fcntl per open descriptor where the kernel lacks it.
func from(first int) error {
	if err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	return eachOpen(first, "/proc/self/fd")
}
