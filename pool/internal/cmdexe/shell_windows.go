//go:build windows

package cmdexe

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// Shell is a cmd.exe session: the directory and environment its init
// script left, and a private directory for the init script's files and for
// scripts of several lines. It has no process of its own.
type Shell struct {
	spec  *driver.Spec
	dir   string  // private directory
	cwd   string  // the session's directory after init
	env   *cmdEnv // the session's environment after init
	never signals.Signal
}

// Start makes a session: its private directory, then, when there is an
// init script, the run that captures what the init script leaves.
func Start(spec *driver.Spec) (*Shell, error) {
	dir, err := os.MkdirTemp(spec.RuntimeDir, "mothreads-"+spec.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: session directory: %w", spec.Name, err)
	}
	s := &Shell{spec: spec, dir: dir, cwd: spec.Dir}
	if err := cmdUnsafePath(dir); err != nil {
		s.cleanup()
		return nil, &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: session directory: %v (set a runtime directory without it)", spec.Name, err)}
	}
	if spec.Init == "" {
		s.env = newCmdEnv(spec.Env, spec.Env)
		return s, nil
	}
	if err := s.runInit(); err != nil {
		s.cleanup()
		return nil, err
	}
	return s, nil
}

// runInit runs the start script (start.cmd): the init script, then a dump of the
// directory and environment it left. Its failure, its timeout (the start
// timeout) and the pool stopping are start errors; whatever it left running
// is terminated.
func (s *Shell) runInit() error {
	spec := s.spec
	start := filepath.Join(s.dir, "start.cmd")
	if err := os.WriteFile(filepath.Join(s.dir, "init.cmd"), []byte(crlf(spec.Init)), 0o600); err != nil {
		return fmt.Errorf("%s: init script: %w", spec.Name, err)
	}
	if err := os.WriteFile(start, []byte(startScript), 0o600); err != nil {
		return fmt.Errorf("%s: start script: %w", spec.Name, err)
	}
	logf, err := os.Create(filepath.Join(s.dir, "start.log"))
	if err != nil {
		return fmt.Errorf("%s: start log: %w", spec.Name, err)
	}
	cmd := &exec.Cmd{
		Path: spec.Shell, Args: []string{spec.Shell},
		Env: newWinEnv(spec.Env).list(), Dir: spec.Dir,
		Stdout: logf, Stderr: logf,
		SysProcAttr: &syscall.SysProcAttr{CmdLine: cmdLine(spec.Shell, "/d", `"`+start+`" "`+spec.Shell+`"`)},
	}
	j, err := proc.NewJob()
	if err != nil {
		logf.Close()
		return fmt.Errorf("%s: %w", spec.Name, err)
	}
	defer j.Close()
	err = startInJob(spec, cmd, j)
	logf.Close()
	if err != nil {
		return fmt.Errorf("%s: start %s: %w", spec.Name, spec.Shell, err)
	}
	var exited signals.Signal
	go func() {
		cmd.Wait()
		exited.Go()
	}()
	limit, release := (*signals.Timers)(nil).Till(spec.StartTimeout)
	defer release()
	select {
	case <-exited.Done():
	case <-limit.Done():
		j.Terminate()
		exited.Wait()
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: start took longer than %v%s", spec.Name, spec.StartTimeout, s.initLog())}
	case <-spec.Abort.Done():
		j.Terminate()
		exited.Wait()
		return &driver.RequestError{Kind: driver.Unavailable, Problem: spec.Name + ": start aborted: pool stopping", Err: driver.ErrClosed}
	}
	// What the init script started in the background cannot serve later
	// calls, which are new processes: it ends here.
	j.Terminate()
	if rc := cmd.ProcessState.ExitCode(); rc != 0 {
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: init script failed with status %d%s", spec.Name, rc, s.initLog())}
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "env"))
	if err != nil {
		return &driver.RequestError{Kind: driver.StartFailed, Problem: fmt.Sprintf("%s: the init script ended cmd.exe (exit without /b?) before its environment could be read%s", spec.Name, s.initLog())}
	}
	cwd, env, err := parseEnvDump(b)
	if err != nil {
		return fmt.Errorf("%s: reading the session environment: %w", spec.Name, err)
	}
	s.cwd, s.env = cwd, newCmdEnv(spec.Env, env)
	return nil
}

// initLog returns the tail of what the init script and cmd.exe printed, for
// errors.
func (s *Shell) initLog() string {
	var b []byte
	for _, name := range []string{"init.log", "start.log"} {
		if x, err := os.ReadFile(filepath.Join(s.dir, name)); err == nil {
			b = append(b, x...)
		}
	}
	const max = 2048
	if len(b) > max {
		b = b[len(b)-max:]
	}
	if t := strings.TrimSpace(string(b)); t != "" {
		return ": " + t
	}
	return ""
}

// Died never fires, Ready has always fired, Alive is always true: a cmd.exe
// session keeps no process between calls, so it has no PID and no memory.
func (s *Shell) Died() *signals.Signal  { return &s.never }
func (s *Shell) Alive() bool            { return true }
func (s *Shell) Ready() *signals.Signal { return signals.And() }
func (s *Shell) PID() int               { return 0 }
func (s *Shell) Memory() int64          { return 0 }

// Close removes the session's directory; a cmd.exe session has no process
// between calls, and each call ends its own.
func (s *Shell) Close(time.Duration) { s.cleanup() }

func (s *Shell) cleanup() {
	if err := removeDir(s.dir); err != nil && s.spec.Log != nil {
		s.spec.Log.Warn("removing session directory", "dir", s.dir, "err", err)
	}
}

// removeDir removes a session's directory, which holds files only (the
// start and init scripts, their logs, the environment dump, the batch files
// of calls): each with os.Remove (DeleteFile), then the directory. It does
// not use os.RemoveAll for them, whose handle-based deletion
// (FileDispositionInformationEx) Wine 8 does not implement; a directory
// that something else put there goes with os.RemoveAll.
func removeDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			errs = append(errs, os.RemoveAll(p))
		} else if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// findProgram resolves a command name as cmd.exe does: a path (relative to
// dir) or a name searched in dir, unless NoDefaultCurrentDirectoryInExePath
// is set, then in PATH, trying the extensions of PATHEXT.
func findProgram(name string, env winEnv, dir string) (string, error) {
	exts := pathExts(env.get("PATHEXT"))
	dirs, base := []string{""}, driver.AbsIn(dir, name)
	if !hasPathSep(name) {
		dirs = searchDirs(env.get("PATH"), dir, env.has("NoDefaultCurrentDirectoryInExePath"))
		base = name
	}
	for _, d := range dirs {
		for _, cand := range programCandidates(base, exts) {
			p := cand
			if d != "" {
				p = driver.AbsIn(dir, filepath.Join(d, cand))
			}
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
		}
	}
	return "", &driver.RequestError{Field: "argv[0]", Kind: driver.NotFound, Problem: name + ": command not found"}
}
