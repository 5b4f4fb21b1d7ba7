//go:build linux

package proc

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNoExitStatus means that the exit status of a process that is not our
// child could not be learnt: the kernel has no PIDFD_INFO_EXIT (before
// Linux 6.15) and the process was reaped before its zombie could be read.
var ErrNoExitStatus = errors.New("exit status not available")

// ExitStatus returns the wait status of the exited process that pidfd
// refers to (pid is its number), whoever its parent is. The kernel keeps it
// in the pidfd once the parent has reaped the process (PIDFD_INFO_EXIT,
// Linux 6.15); until then the process is a zombie whose status is the 52nd
// field of /proc/PID/stat. Reading the zombie and then seeing that the pidfd
// still has no status proves the zombie read was this process's (a pid is
// not reused before its process is reaped), so there is no race with the
// parent reaping it.
func ExitStatus(pidfd, pid int) (unix.WaitStatus, error) {
	if ws, ok := pidfdExit(pidfd); ok {
		return ws, nil
	}
	zs, zerr := zombieStatus(pid)
	if ws, ok := pidfdExit(pidfd); ok {
		return ws, nil
	}
	if zerr != nil {
		return 0, zerr
	}
	return zs, nil
}

func pidfdExit(pidfd int) (unix.WaitStatus, bool) {
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_EXIT}
	if err := unix.IoctlPidfdInfo(pidfd, &info); err != nil || info.Mask&unix.PIDFD_INFO_EXIT == 0 {
		return 0, false
	}
	return unix.WaitStatus(info.Exit_code), true
}

// zombieStatus reads the exit status of pid from /proc/PID/stat if pid is a
// zombie.
func zombieStatus(pid int) (unix.WaitStatus, error) {
	f := statFields(pid)
	// Z: a zombie; X: being reaped at this moment, its status still there.
	if len(f) == 0 || string(f[0]) != "Z" && string(f[0]) != "X" {
		return 0, ErrNoExitStatus
	}
	code, ok := statInt(f, 52)
	if !ok {
		return 0, ErrNoExitStatus
	}
	return unix.WaitStatus(code), nil
}

// HasPidfdExit reports whether this kernel keeps the exit status of a
// reaped process in its pidfd (PIDFD_INFO_EXIT, Linux 6.15), by asking it
// about a child that exits at once: the kernel's version is not a reliable
// guide (backports). start runs the probe's exec.Cmd.Start (the pool's
// spawner).
func HasPidfdExit(start func(*exec.Cmd) error) bool {
	fd := -1
	cmd := exec.Command("/bin/sh", "-c", "exit 7")
	if _, err := os.Stat(cmd.Path); err != nil {
		return false
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{PidFD: &fd}
	if err := start(cmd); err != nil {
		return false
	}
	cmd.Wait()
	if fd < 0 {
		return false
	}
	defer unix.Close(fd)
	ws, ok := pidfdExit(fd)
	return ok && ws.Exited() && ws.ExitStatus() == 7
}
