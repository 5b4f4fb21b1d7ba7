//go:build unix

package driver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// DirectCmd is a command the pool starts itself rather than through a
// session's shell: external programs in argv form (a shell would only fork
// and exec them anyway, and Go's vfork-based spawn is the cheapest way to do
// that), calls with a terminal (which need a session of their own), and
// every call of a shell that has no warm protocol.
type DirectCmd struct {
	Argv []string
	Env  *SessionEnv
	Vars map[string]string // the call's environment; nil: the session's own
	Dir  string
}

// RunDirect spawns d as the call's main process, in a new session (its
// process group, which the pool kills at the end), with the session's
// environment, and drives it to its end.
func RunDirect(c *Call, spec *Spec, d DirectCmd) (*Result, error) {
	path, err := lookPath(d.Argv[0], d.Env.Lookup(d.Vars, "PATH"), d.Dir)
	if err != nil {
		return nil, err
	}
	// "_" is the program's path, as bash sets it for the programs it runs.
	cmd := &exec.Cmd{Path: path, Args: d.Argv, Env: d.Env.Environ(d.Vars, "_="+path), Dir: d.Dir}
	cmd.SysProcAttr = newSessionAttr(false)
	if c.Req.TTY != nil {
		return runTerminal(c, spec, cmd)
	}

	out, childOut, childErr, err := proc.OutputPipes(c.Req.Stdout, c.Req.Stderr)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = childOut, childErr
	var inW *os.File
	if c.Req.Stdin != nil {
		inR, w, err := os.Pipe()
		if err != nil {
			proc.CloseAll(childOut, childErr)
			out.Abandon()
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
		cmd.Stdin, inW = inR, w
		defer inR.Close()
	}
	err = spec.Spawner.Start(cmd)
	proc.CloseAll(childOut, childErr)
	if err != nil {
		out.Abandon()
		if inW != nil {
			inW.Close()
		}
		return nil, startError(d.Argv[0], err)
	}
	pid := cmd.Process.Pid
	spec.Reaper.Watch(pid)
	defer spec.Reaper.Forget(pid)
	c.MarkStarted(spec.Name, pid)
	out.Start()
	if inW != nil {
		go proc.PumpIn(inW, c.Req.Stdin)
	}

	var exited signals.Signal
	go func() {
		cmd.Wait()
		exited.Go()
	}()
	sup := &Supervisor{Call: c, PGID: pid}
	sup.Wait(&exited)
	FinishGroup(pid, out, c)

	r := &Result{Session: spec.Name, PID: pid}
	r.ExitCode, r.Signal, r.CoreDumped = waitStatus(cmd.ProcessState)
	sup.Finish(r)
	return r, nil
}

// runTerminal runs cmd on a new pseudo-terminal as its controlling terminal.
// Both output streams arrive on the terminal, so on Stdout.
func runTerminal(c *Call, spec *Spec, cmd *exec.Cmd) (*Result, error) {
	size := c.Req.TTY
	master, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	defer master.Close()
	if err := pty.Setsize(master, &pty.Winsize{Rows: size.Rows, Cols: size.Cols}); err != nil {
		tty.Close()
		return nil, fmt.Errorf("pty size: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = newSessionAttr(true)
	err = spec.Spawner.Start(cmd)
	tty.Close()
	if err != nil {
		return nil, startError(cmd.Args[0], err)
	}
	pid := cmd.Process.Pid
	spec.Reaper.Watch(pid)
	defer spec.Reaper.Forget(pid)
	c.MarkStarted(spec.Name, pid)

	var out signals.Signal
	var stopOut atomic.Bool
	go func() {
		defer out.Go()
		proc.PumpOut(ptyReader{master}, c.Req.Stdout, &stopOut)
	}()
	if c.Req.Stdin != nil {
		go func() {
			buf := make([]byte, proc.ChunkSize)
			for {
				n, err := c.Req.Stdin.Read(buf)
				if n > 0 {
					if _, werr := master.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					// End of input on a terminal is the EOF character.
					master.Write([]byte{4})
					return
				}
			}
		}()
	}
	var exited signals.Signal
	go func() {
		cmd.Wait()
		exited.Go()
	}()
	sup := &Supervisor{
		Call:   c,
		PGID:   pid,
		Resize: func(ws WindowSize) { pty.Setsize(master, &pty.Winsize{Rows: ws.Rows, Cols: ws.Cols}) },
		// A terminal session may hold several process groups (job control).
		Kill: func(sig syscall.Signal) { proc.SignalGroup(pid, sig); proc.KillSession(pid, sig) },
	}
	sup.Wait(&exited)
	// Whatever the session leader left on the terminal is killed; then the
	// output drains, and the terminal closes.
	proc.KillSession(pid, syscall.SIGKILL)
	limit, release := c.Timers.Till(c.Grace)
	if !out.WaitTill(limit) {
		// What the terminal still holds is delivered, however slow the
		// consumer; then the pump stops (see proc.PumpOut).
		stopOut.Store(true)
		if master.SetReadDeadline(time.Now()) != nil {
			master.Close()
		}
	}
	release()
	out.Wait() // the terminal closes on return

	r := &Result{Session: spec.Name, PID: pid}
	r.ExitCode, r.Signal, r.CoreDumped = waitStatus(cmd.ProcessState)
	sup.Finish(r)
	return r, nil
}

// ptyReader turns the EIO that Linux returns on a master once every slave
// side is closed into EOF.
type ptyReader struct{ f *os.File }

// Close does nothing: the master is closed by its owner.
func (p ptyReader) Close() error { return nil }

// File is the master, for pumpOut's last reads.
func (p ptyReader) File() *os.File { return p.f }

func (p ptyReader) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if err != nil && errors.Is(err, syscall.EIO) {
		err = io.EOF
	}
	return n, err
}

func waitStatus(ps *os.ProcessState) (int, syscall.Signal, bool) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.ExitCode(), 0, false
	}
	if ws.Signaled() {
		return -1, ws.Signal(), ws.CoreDump()
	}
	return ws.ExitStatus(), 0, false
}

// lookPath resolves a command name the way a shell does: a name with a slash
// is a path (relative to dir), anything else is searched in path.
func lookPath(name, path, dir string) (string, error) {
	notFound := func(why string) error {
		return &RequestError{Field: "argv[0]", Kind: NotFound, Problem: fmt.Sprintf("%s: %s", name, why)}
	}
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); err != nil {
			return "", notFound(err.Error())
		}
		return p, nil
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", notFound("command not found")
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return errors.Unwrap(err)
	case fi.IsDir():
		return errors.New("is a directory")
	case fi.Mode()&0o111 == 0:
		return errors.New("permission denied")
	}
	return nil
}

func startError(name string, err error) error {
	var pe *os.PathError
	switch {
	case errors.As(err, &pe) && errors.Is(pe.Err, syscall.ENOENT):
		return &RequestError{Field: "argv[0]", Kind: NotFound, Problem: name + ": command not found", Err: err}
	case errors.Is(err, syscall.E2BIG):
		// The program's own arguments and environment are over the
		// system's limit: the request is at fault, not the session (the
		// daemon names the entry that is).
		return &RequestError{Field: "argv", Kind: Invalid, Problem: name + ": argument list too long", Err: err}
	}
	return fmt.Errorf("start %s: %w", name, err)
}
