//go:build windows

package pool

// The cmd.exe driver. UNTESTED ON WINDOWS: it compiles (GOOS=windows go vet)
// and its platform-neutral parts (cmdline.go) are tested on Linux, but it
// has not run on a Windows machine yet.
//
// A cmd.exe session keeps no process between calls. cmd.exe cannot be
// driven safely through its standard input (it echoes, parses and expands
// what it reads, and has no way to run a call in a copy of itself), so a
// session is what its init script leaves behind: at start, cmd.exe runs the
// init script once and then writes its directory and environment
// (cmdSessionScript); every call then runs as a new process with that
// environment (the caller's base environment, the init script's changes,
// the call's own entries) and in that directory, which gives isolation
// (C3) for free and costs one process creation per call.
//
// Each call's process is created suspended, put in the pool's Job Object
// (kill-on-close: everything dies with the daemon) and in a Job Object of
// its own nested there, and only then resumed. A timeout, a cancel or a
// signal terminates the call's job: the whole tree, at once. When the main
// process exits, whatever it left in its job is terminated (C5).

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/windows"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

const defaultShell = "cmd.exe"

// driverKind is how a pool runs its shell; Windows has one driver.
type driverKind int

const kindCmd driverKind = iota

// probeShell resolves the configured shell, which must be cmd.exe, and reads
// its version.
func probeShell(name string) (path string, kind driverKind, version string, err error) {
	path, err = exec.LookPath(name)
	if err != nil {
		return "", 0, "", fmt.Errorf("config shell: %q: %w", name, err)
	}
	if !isCmdName(path) {
		return "", 0, "", fmt.Errorf("config shell: %s is not cmd.exe: on Windows the pool drives cmd.exe only "+
			"(run PowerShell or another shell as a program, in argv form)", path)
	}
	if err := cmdUnsafePath(path); err != nil {
		return "", 0, "", fmt.Errorf("config shell: %w", err)
	}
	cmd := exec.Command(path)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: cmdLine(path, "/d", "ver"), CreationFlags: windows.CREATE_NO_WINDOW}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return "", 0, "", fmt.Errorf("config shell: %s: %w", path, err)
	}
	var done signals.Signal
	go func() {
		err = cmd.Wait()
		done.Go()
	}()
	probe, release := (*signals.Timers)(nil).Till(10 * time.Second)
	defer release()
	if !done.WaitTill(probe) {
		cmd.Process.Kill()
		done.Wait()
		return "", 0, "", fmt.Errorf("config shell: %s did not answer within 10s", path)
	}
	if err != nil {
		return "", 0, "", fmt.Errorf("config shell: %s /c ver failed: %w", path, err)
	}
	return path, kindCmd, parseVer(out.String()), nil
}

// newShell starts a session with the cmd.exe driver.
func newShell(kind driverKind, spec *shellSpec) (shell, error) {
	if spec.sticky {
		return nil, &RequestError{Field: "session", Kind: Invalid,
			Problem: "sticky sessions need bash as the pool's shell: cmd.exe runs every call as a new process, so no state could persist"}
	}
	return startCmd(spec)
}

// cmdShell is a cmd.exe session: the directory and environment its init
// script left, and a private directory for the init script's files and for
// scripts of several lines. It has no process of its own.
type cmdShell struct {
	spec  *shellSpec
	dir   string  // private directory
	cwd   string  // the session's directory after init
	env   *cmdEnv // the session's environment after init
	never signals.Signal
}

// startCmd makes a session: its private directory, then, when there is an
// init script, the run that captures what the init script leaves.
func startCmd(spec *shellSpec) (*cmdShell, error) {
	dir, err := os.MkdirTemp(spec.runtimeDir, "mothreads-"+spec.name+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: session directory: %w", spec.name, err)
	}
	s := &cmdShell{spec: spec, dir: dir, cwd: spec.dir}
	if err := cmdUnsafePath(dir); err != nil {
		s.cleanup()
		return nil, &RequestError{Kind: StartFailed, Problem: fmt.Sprintf("%s: session directory: %v (set a runtime directory without it)", spec.name, err)}
	}
	if spec.init == "" {
		s.env = newCmdEnv(spec.env, spec.env)
		return s, nil
	}
	if err := s.runInit(); err != nil {
		s.cleanup()
		return nil, err
	}
	return s, nil
}

// runInit runs cmdSessionScript: the init script, then a dump of the
// directory and environment it left. Its failure, its timeout (the start
// timeout) and the pool stopping are start errors; whatever it left running
// is terminated.
func (s *cmdShell) runInit() error {
	spec := s.spec
	start := filepath.Join(s.dir, "start.cmd")
	if err := os.WriteFile(filepath.Join(s.dir, "init.cmd"), []byte(crlf(spec.init)), 0o600); err != nil {
		return fmt.Errorf("%s: init script: %w", spec.name, err)
	}
	if err := os.WriteFile(start, []byte(cmdSessionScript), 0o600); err != nil {
		return fmt.Errorf("%s: start script: %w", spec.name, err)
	}
	logf, err := os.Create(filepath.Join(s.dir, "start.log"))
	if err != nil {
		return fmt.Errorf("%s: start log: %w", spec.name, err)
	}
	cmd := &exec.Cmd{
		Path: spec.shell, Args: []string{spec.shell},
		Env: newWinEnv(spec.env).list(), Dir: spec.dir,
		Stdout: logf, Stderr: logf,
		SysProcAttr: &syscall.SysProcAttr{CmdLine: cmdLine(spec.shell, "/d", `"`+start+`" "`+spec.shell+`"`)},
	}
	j, err := proc.NewJob()
	if err != nil {
		logf.Close()
		return fmt.Errorf("%s: %w", spec.name, err)
	}
	defer j.Close()
	err = startInJob(spec, cmd, j)
	logf.Close()
	if err != nil {
		return fmt.Errorf("%s: start %s: %w", spec.name, spec.shell, err)
	}
	var exited signals.Signal
	go func() {
		cmd.Wait()
		exited.Go()
	}()
	limit, release := (*signals.Timers)(nil).Till(spec.startTimeout)
	defer release()
	select {
	case <-exited.Done():
	case <-limit.Done():
		j.Terminate()
		exited.Wait()
		return &RequestError{Kind: StartFailed, Problem: fmt.Sprintf("%s: start took longer than %v%s", spec.name, spec.startTimeout, s.initLog())}
	case <-spec.abort.Done():
		j.Terminate()
		exited.Wait()
		return &RequestError{Kind: Unavailable, Problem: spec.name + ": start aborted: pool stopping", Err: ErrClosed}
	}
	// What the init script started in the background cannot serve later
	// calls, which are new processes: it ends here.
	j.Terminate()
	if rc := cmd.ProcessState.ExitCode(); rc != 0 {
		return &RequestError{Kind: StartFailed, Problem: fmt.Sprintf("%s: init script failed with status %d%s", spec.name, rc, s.initLog())}
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "env"))
	if err != nil {
		return &RequestError{Kind: StartFailed, Problem: fmt.Sprintf("%s: the init script ended cmd.exe (exit without /b?) before its environment could be read%s", spec.name, s.initLog())}
	}
	cwd, env, err := parseEnvDump(b)
	if err != nil {
		return fmt.Errorf("%s: reading the session environment: %w", spec.name, err)
	}
	s.cwd, s.env = cwd, newCmdEnv(spec.env, env)
	return nil
}

// initLog returns the tail of what the init script and cmd.exe printed, for
// errors.
func (s *cmdShell) initLog() string {
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

func (s *cmdShell) died() *signals.Signal  { return &s.never }
func (s *cmdShell) alive() bool            { return true }
func (s *cmdShell) ready() *signals.Signal { return signals.And() }
func (s *cmdShell) pid() int               { return 0 }
func (s *cmdShell) memory() int64          { return 0 }

// close removes the session's directory; a cmd.exe session has no process
// between calls, and each call ends its own.
func (s *cmdShell) close(time.Duration) { s.cleanup() }

func (s *cmdShell) cleanup() {
	if err := os.RemoveAll(s.dir); err != nil && !errors.Is(err, os.ErrNotExist) && s.spec.log != nil {
		s.spec.log.Warn("removing session directory", "dir", s.dir, "err", err)
	}
}

// absIn makes p absolute against base: `x\y` in base, `\x` on base's drive,
// `D:x` against the process's directory on drive D (as cmd.exe would).
func absIn(base, p string) string {
	switch {
	case filepath.IsAbs(p):
	case filepath.VolumeName(p) != "":
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
	case strings.HasPrefix(p, `\`) || strings.HasPrefix(p, "/"):
		p = filepath.VolumeName(base) + p
	default:
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p)
}

// findProgram resolves a command name as cmd.exe does: a path (relative to
// dir) or a name searched in dir, unless NoDefaultCurrentDirectoryInExePath
// is set, then in PATH, trying the extensions of PATHEXT.
func findProgram(name string, env winEnv, dir string) (string, error) {
	exts := pathExts(env.get("PATHEXT"))
	dirs, base := []string{""}, absIn(dir, name)
	if !hasPathSep(name) {
		dirs = searchDirs(env.get("PATH"), dir, env.has("NoDefaultCurrentDirectoryInExePath"))
		base = name
	}
	for _, d := range dirs {
		for _, cand := range programCandidates(base, exts) {
			p := cand
			if d != "" {
				p = absIn(dir, filepath.Join(d, cand))
			}
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
		}
	}
	return "", &RequestError{Field: "argv[0]", Kind: NotFound, Problem: name + ": command not found"}
}
