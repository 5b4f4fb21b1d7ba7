//go:build windows

package cmdexe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"unicode/utf16"

	"golang.org/x/sys/windows"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// createProcessMaxLine is the longest command line CreateProcess accepts, in
// UTF-16 units, without the terminating NUL.
const createProcessMaxLine = 32766

// cmdPlan is how a call's command is started: the program CreateProcess runs
// and its exact command line, and a batch file to remove afterwards.
type cmdPlan struct {
	path    string
	cmdLine string
	file    string
	viaCmd  bool // cmd.exe runs it: it cannot start in a UNC directory
}

// run drives one call to its end: a new process in a new Job Object.
func (s *Shell) Run(c *driver.Call) (*driver.Result, error) {
	if c.Req.TTY != nil {
		return nil, &driver.RequestError{Field: "tty", Kind: driver.Invalid, Problem: "terminals are not supported on Windows yet"}
	}
	dir, err := driver.ResolveDir(c.Req, s.cwd)
	if err != nil {
		return nil, err
	}
	env := s.env.final(c.Req)
	p, err := s.plan(c, env, dir)
	if err != nil {
		return nil, err
	}
	if p.file != "" {
		defer os.Remove(p.file)
	}
	if p.viaCmd && isUNC(dir) {
		field := "cwd"
		if c.Req.Dir == "" {
			field = "base_cwd"
		}
		return nil, &driver.RequestError{Field: field, Kind: driver.Invalid,
			Problem: fmt.Sprintf("cmd.exe cannot run in the UNC directory %q; map it to a drive letter", dir)}
	}
	if n := len(utf16.Encode([]rune(p.cmdLine))); n > createProcessMaxLine {
		return nil, &driver.RequestError{Field: "argv", Kind: driver.TooLarge,
			Problem: fmt.Sprintf("the command line is %d characters, over Windows' limit of %d", n, createProcessMaxLine)}
	}
	return runCmdJob(c, s.spec, p, env, dir)
}

// plan decides how to start the call:
//   - a script of one line runs on cmd.exe's command line (`cmd /d /s /c
//     "SCRIPT"`), with the command line's rules (%i in FOR, no %%);
//   - a longer script, or one of several lines, runs from a batch file in the
//     session's directory, with a batch file's rules (%%i, labels, GOTO);
//   - an argv whose program is a cmd.exe builtin (echo, dir, set...) runs
//     through cmd.exe, its arguments quoted for it (cmdQuote);
//   - any other argv is searched for as cmd.exe would (findProgram); an .exe
//     or .com runs directly, with a command line that the C runtime splits
//     back into exactly argv (windows.ComposeCommandLine); anything else (a
//     batch file, a script with a file association) runs through cmd.exe,
//     its arguments quoted for it.
func (s *Shell) plan(c *driver.Call, env winEnv, dir string) (*cmdPlan, error) {
	shell, req := s.spec.Shell, c.Req
	if len(req.Argv) == 0 {
		if line, ok := inlineScript(shell, "/d", req.Script); ok {
			return &cmdPlan{path: shell, cmdLine: line, viaCmd: true}, nil
		}
		f := filepath.Join(s.dir, fmt.Sprintf("call-%d.cmd", c.ID))
		if err := os.WriteFile(f, batchText(req.Script), 0o600); err != nil {
			return nil, fmt.Errorf("%s: script file: %w", s.spec.Name, err)
		}
		return &cmdPlan{path: shell, cmdLine: cmdLine(shell, "/d", `"`+f+`"`), file: f, viaCmd: true}, nil
	}
	viaCmd := func(program string) (*cmdPlan, error) {
		rest, bad, err := cmdArgv(req.Argv, program)
		if err != nil {
			return nil, &driver.RequestError{Field: fmt.Sprintf("argv[%d]", bad), Kind: driver.Invalid, Problem: err.Error()}
		}
		line := cmdLine(shell, "/d /v:off", rest)
		if len(line) > cmdMaxLine {
			return nil, &driver.RequestError{Field: "argv", Kind: driver.TooLarge,
				Problem: fmt.Sprintf("the command is %d characters, over cmd.exe's limit of %d", len(line), cmdMaxLine)}
		}
		return &cmdPlan{path: shell, cmdLine: line, viaCmd: true}, nil
	}
	if isCmdBuiltin(req.Argv[0]) {
		return viaCmd("")
	}
	prog, err := findProgram(req.Argv[0], env, dir)
	if err != nil {
		return nil, err
	}
	if !runsDirectly(prog) {
		return viaCmd(prog)
	}
	return &cmdPlan{path: prog, cmdLine: windows.ComposeCommandLine(req.Argv)}, nil
}

// runCmdJob starts the planned process in a Job Object of its own, with
// pipes for its output (and input, when the call has some; NUL otherwise),
// and drives it to its end.
func runCmdJob(c *driver.Call, spec *driver.Spec, p *cmdPlan, env winEnv, dir string) (*driver.Result, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path: p.path, Args: []string{p.path}, Env: env.list(), Dir: dir,
		Stdout: outW, Stderr: errW,
		SysProcAttr: &syscall.SysProcAttr{CmdLine: p.cmdLine},
	}
	var inR, inW *os.File
	if c.Req.Stdin != nil {
		if inR, inW, err = os.Pipe(); err != nil {
			outR.Close()
			outW.Close()
			errR.Close()
			errW.Close()
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
		cmd.Stdin = inR
	}
	j, err := proc.NewJob()
	if err == nil {
		err = startInJob(spec, cmd, j)
	}
	outW.Close()
	errW.Close()
	if inR != nil {
		inR.Close()
	}
	if err != nil {
		outR.Close()
		errR.Close()
		if inW != nil {
			inW.Close()
		}
		if j != nil {
			j.Close()
		}
		return nil, createError(p, err)
	}
	defer j.Close()
	pid := cmd.Process.Pid
	c.MarkStarted(spec.Name, pid)
	out := pumpCall(outR, errR, c.Req.Stdout, c.Req.Stderr)
	if inW != nil {
		go proc.PumpIn(inW, c.Req.Stdin)
	}

	var exited signals.Signal
	go func() {
		cmd.Wait()
		exited.Go()
	}()
	sup := &driver.Supervisor{Call: c, PGID: pid, Kill: j.Signal}
	sup.Wait(&exited)
	finishJob(j, out, c)

	r := &driver.Result{Session: spec.Name, PID: pid, ExitCode: cmd.ProcessState.ExitCode()}
	sup.Finish(r)
	return r, nil
}

// createError turns a failure to start the process into the caller's error:
// a program that CreateProcess refuses (not found, not a program for this
// machine, access denied, command line too long) is the request's fault,
// not the session's. A failure to start cmd.exe itself, or to put the
// process in its jobs, is not.
func createError(p *cmdPlan, err error) error {
	var pe *os.PathError
	if !p.viaCmd && errors.As(err, &pe) {
		switch {
		case errors.Is(err, windows.ERROR_FILE_NOT_FOUND), errors.Is(err, windows.ERROR_PATH_NOT_FOUND):
			return &driver.RequestError{Field: "argv[0]", Kind: driver.NotFound, Problem: fmt.Sprintf("%s: not found", p.path), Err: err}
		case errors.Is(err, windows.ERROR_BAD_EXE_FORMAT), errors.Is(err, windows.ERROR_EXE_MACHINE_TYPE_MISMATCH),
			errors.Is(err, windows.ERROR_ACCESS_DENIED), errors.Is(err, windows.ERROR_FILENAME_EXCED_RANGE):
			return &driver.RequestError{Field: "argv[0]", Kind: driver.Invalid, Problem: fmt.Sprintf("%s: %v", p.path, pe.Err), Err: err}
		}
	}
	return fmt.Errorf("start %s: %w", p.path, err)
}

// callOutput tracks the two output pumps of a call.
type callOutput struct {
	done  signals.Signal
	left  atomic.Int32
	files [2]*os.File
}

func pumpCall(o, e *os.File, stdout, stderr io.Writer) *callOutput {
	out := &callOutput{files: [2]*os.File{o, e}}
	out.left.Store(2)
	pump := func(f *os.File, w io.Writer) {
		proc.PumpOut(f, w, nil)
		if out.left.Add(-1) == 0 {
			out.done.Go()
		}
	}
	go pump(o, stdout)
	go pump(e, stderr)
	return out
}

// abandon stops reading: something outside the call's job holds the pipes.
// Closing a pipe cancels the read that is waiting on it.
func (o *callOutput) abandon() {
	o.files[0].Close()
	o.files[1].Close()
	o.done.Wait()
}

// finishJob ends what a call left behind once its main process has ended
// (C5): whatever is still in the call's job is terminated at once (Windows
// has nothing like SIGTERM to ask first), the output drains until EOF or the
// kill grace, and if it does not end, a process outside the job holds the
// pipes and the pool stops reading. Then it waits, up to the kill grace
// again, until the job is empty, so that the session serves again only
// after the leftovers are gone.
func finishJob(j *proc.Job, out *callOutput, c *driver.Call) {
	if j.Active() != 0 {
		j.Terminate()
	}
	if !out.done.Fired() {
		limit, release := c.Timers.Till(c.Grace)
		ok := out.done.WaitTill(limit)
		release()
		if !ok {
			out.abandon()
		}
	}
	j.WaitEmpty(c.Grace)
}
