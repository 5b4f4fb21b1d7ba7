//go:build unix

package cloexec

import (
	"syscall"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// inheritable returns the two ends of a pipe that is not close-on-exec, as
// a process gets from its parent.
func inheritable(t *testing.T) [2]int {
	t.Helper()
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(p[0]); syscall.Close(p[1]) })
	for _, fd := range p {
		if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC != 0 {
			t.Fatalf("fd %d is close-on-exec already", fd)
		}
	}
	return p
}

func wantCloexec(t *testing.T, p [2]int) {
	t.Helper()
	for _, fd := range p {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("fd %d: flags %#x, %v; want FD_CLOEXEC (and still open)", fd, flags, err)
		}
	}
}

func TestFrom(t *testing.T) {
	p := inheritable(t)
	if err := From(3); err != nil {
		t.Fatal(err)
	}
	wantCloexec(t, p)
}

// TestFallback: the path taken where close_range is missing.
func TestFallback(t *testing.T) {
	p := inheritable(t)
	if err := eachOpen(3, "/dev/fd"); err != nil {
		t.Fatal(err)
	}
	wantCloexec(t, p)
}
