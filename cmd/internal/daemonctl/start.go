package daemonctl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mothreads/mothreads/internal/cloexec"
	"github.com/mothreads/mothreads/internal/sockpath"
)

// exitAlreadyRunning is the daemon's exit status when another daemon holds
// its socket (daemoncmd.ExitAlreadyRunning; not imported, to keep this
// package free of the daemon's code).
const exitAlreadyRunning = 3

// Spec says how Start starts a daemon.
type Spec struct {
	// Socket is the daemon's socket (made absolute by Start).
	Socket string
	// Args are more daemon flags, after --socket.
	Args []string
	// LogFile receives the daemon's stdout and stderr, appended. Its
	// missing directories are created 0700 and its directory chain must
	// pass sockpath's rule for the caller's uid before the file is opened,
	// and the file is opened without following a symbolic link: it must be
	// a regular file of the caller's. Empty means the null device.
	LogFile string
	// Detach puts the daemon in a session of its own (Setsid), so that it
	// outlives the caller and gets none of its terminal's signals. Without
	// Detach the daemon is in a process group of its own and, on Linux,
	// gets SIGTERM when the caller dies.
	Detach bool
	// Env is the daemon's environment; nil means the caller's. The daemon
	// reads its MOTHREADS_* settings from it.
	Env []string
	// Dir is the daemon's working directory (its sessions' default); empty
	// means "/", so that a long-lived daemon keeps no directory busy.
	Dir string
}

// Child is a daemon started by Start.
type Child struct {
	spec  Spec
	cmd   *exec.Cmd
	logAt int64 // the log file's size when the daemon started
	done  chan struct{}
	err   error
}

// Start starts the running binary as `BINARY daemon --socket SOCKET
// ARGS...` and returns without waiting for it to serve. A goroutine waits
// for the process; Done says when it has exited.
//
// The daemon gets descriptors 0, 1 and 2 only. Start marks every descriptor
// of the caller numbered 3 or above close-on-exec first (the caller keeps
// them open): descriptors it inherited itself, such as a harness's pipe,
// would otherwise live on in the daemon and all its sessions, and whoever
// waits for their EOF would wait until the daemon exits.
func Start(spec Spec) (*Child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("starting a daemon: finding this program: %w", err)
	}
	if spec.Socket, err = filepath.Abs(spec.Socket); err != nil {
		return nil, fmt.Errorf("starting a daemon: socket: %w", err)
	}
	args := append([]string{Subcommand, "--socket", spec.Socket}, spec.Args...)
	cmd := exec.Command(self, args...)
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	if cmd.Dir == "" {
		cmd.Dir = string(filepath.Separator)
	}
	cmd.SysProcAttr = sysProcAttr(spec.Detach)
	c := &Child{spec: spec, cmd: cmd, done: make(chan struct{})}
	if spec.LogFile != "" {
		log, at, err := openLog(spec.LogFile)
		if err != nil {
			return nil, err
		}
		defer log.Close() // the child has its own copy
		cmd.Stdout, cmd.Stderr, c.logAt = log, log, at
	}
	if err := cloexec.From(3); err != nil {
		return nil, fmt.Errorf("starting a daemon: keeping this program's descriptors from it: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting a daemon: %w", err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// openLog opens path for appending, after checking its directory, and
// returns its size.
func openLog(path string) (*os.File, int64, error) {
	if err := sockpath.PrepareDir(filepath.Dir(path), os.Geteuid()); err != nil {
		return nil, 0, fmt.Errorf("starting a daemon: log %s: %w", path, err)
	}
	f, err := openNoFollow(path)
	if err != nil {
		return nil, 0, fmt.Errorf("starting a daemon: log: %w", err)
	}
	if err := checkLogFile(f); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("starting a daemon: log %s: %w", path, err)
	}
	at, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("starting a daemon: log: %w", err)
	}
	return f, at, nil
}

// PID is the daemon's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Done is closed when the daemon has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Err is the daemon's exit, as exec.Cmd.Wait reports it (nil for status 0);
// call it after Done.
func (c *Child) Err() error {
	<-c.done
	return c.err
}

// lostRace reports whether the daemon has exited because another one holds
// the socket.
func (c *Child) lostRace() bool {
	select {
	case <-c.done:
	default:
		return false
	}
	var ee *exec.ExitError
	return errors.As(c.err, &ee) && ee.ExitCode() == exitAlreadyRunning
}

// Stop sends the daemon sig; an error means it has exited already.
func (c *Child) Stop(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// LogTail returns the end (at most max bytes) of what the daemon wrote to
// its log file, trimmed, or "" without a log file.
func (c *Child) LogTail(max int) string {
	if c.spec.LogFile == "" {
		return ""
	}
	f, err := os.Open(c.spec.LogFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	from := max64(c.logAt, fi.Size()-int64(max))
	b := make([]byte, fi.Size()-from)
	n, _ := f.ReadAt(b, from)
	return strings.TrimSpace(string(b[:n]))
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
