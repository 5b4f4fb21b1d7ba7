//go:build linux

package proc

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Launch turns this process into the program a pool asked for, if the pool
// started it as a launcher (LaunchEnv is set); otherwise it returns at once.
// A binary that offers itself as a pool's launcher calls it before anything
// else in main (and a test binary in TestMain).
//
// A launched program starts clean, whatever the pool's process inherited:
// it is a child subreaper (so that every process a call leaves behind stays
// in its session shell's tree, where the pool finds it), its signal mask is
// empty, no signal is ignored, and it holds no descriptor but 0, 1, 2 and 4
// (the session's control socket). The parent-death signal the pool set
// survives the exec. On failure the process exits with status 127 and says
// why on stderr.
func Launch() {
	program, env, ok := launchRequest()
	if !ok {
		return
	}
	runtime.LockOSThread()
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "mothreads launcher: %s: %v\n", what, err)
		os.Exit(127)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fail("subreaper", err)
	}
	// Dispositions: a signal ignored here stays ignored across exec, and
	// the session's commands would inherit that.
	for sig := 1; sig < 65; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			continue
		}
		setDefault(sig)
	}
	var empty unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &empty, nil); err != nil {
		fail("signal mask", err)
	}
	// Not closed here (the Go runtime has descriptors of its own open): to
	// be closed by the exec.
	cloexecFrom(5)
	unix.CloseRange(3, 3, unix.CLOSE_RANGE_CLOEXEC)
	args := os.Args[1:]
	if err := unix.Exec(program, args, env); err != nil {
		fail("exec "+program, err)
	}
}

// cloexecFrom marks every descriptor from fd up close-on-exec.
func cloexecFrom(fd int) {
	if unix.CloseRange(uint(fd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	for i := fd; i < 4096; i++ {
		unix.FcntlInt(uintptr(i), unix.F_SETFD, unix.FD_CLOEXEC)
	}
}

// setDefault sets the disposition of sig to SIG_DFL with the raw system
// call: Go's os/signal cannot, for a signal that was ignored at start. The
// kernel's struct sigaction starts with the handler (0: SIG_DFL), the
// flags, then the restorer and the mask on amd64 or the mask on arm64:
// zero in every layout.
func setDefault(sig int) {
	var act [4]uint64
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}
