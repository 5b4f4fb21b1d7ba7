//go:build unix

package portable

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// Run drives one call to its end.
func (s *Shell) Run(c *driver.Call) (*driver.Result, error) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	req := c.Req
	if req.TTY != nil {
		return s.runTerminal(c)
	}
	dir, err := driver.ResolveDir(req, s.cwd)
	if err != nil {
		return nil, err
	}
	vars := s.env.Final(req, true)
	if len(req.Argv) > 0 && !s.internal[req.Argv[0]] {
		if err := findProgram(req.Argv[0], s.env.Lookup(vars, "PATH"), dir); err != nil {
			return nil, err
		}
	}
	// What the last call left behind is gone before this one starts.
	s.Ready().Wait()
	if !s.Alive() {
		// The scheduler moves the call to another session: nothing of it ran.
		return nil, fmt.Errorf("%s: the shell has exited (%s)", s.name, s.exitText())
	}
	s.seq++
	n := s.seq
	files, err := s.prepare(n, req, dir, vars)
	if err != nil {
		return nil, err
	}
	st := &callState{token: newToken()}
	s.mu.Lock()
	s.cur = st
	s.mu.Unlock()
	defer s.endCall(n, files)
	flag := "-"
	if files.in != nil {
		flag = "i"
	}
	if _, err := fmt.Fprintf(s.ctl, "%d %s %s\n", n, st.token, flag); err != nil {
		return nil, fmt.Errorf("%s: control pipe: %w", s.name, err)
	}
	select {
	case <-st.started.Done():
	case <-s.gone.Done():
		// A call that kills the shell at once may do so before its start
		// report is read: the reports are read to their end first (the
		// status pipe ends with the shell; a second bounds a writer that
		// escaped with it).
		limit, release := (*signals.Timers)(nil).Till(time.Second)
		s.statusRead.WaitTill(limit)
		release()
	}
	if !st.started.Fired() {
		return nil, fmt.Errorf("%s: the shell died before the call started (%s)", s.name, s.exitText())
	}
	if st.failed {
		s.violation("the shell could not open a call's FIFOs")
		return nil, fmt.Errorf("%s: the shell could not open the call's FIFOs%s", s.name, s.diagTail())
	}
	pid := st.pid
	c.MarkStarted(s.name, pid)
	if files.in != nil {
		files.in.dropPlaceholder() // the shell opened its end before it forked
		w := files.in.w
		files.in.w = nil
		go proc.PumpIn(w, req.Stdin)
	}
	out := proc.NewOutputs([]io.ReadCloser{files.out, files.err},
		[]io.Writer{consumer(req.Stdout, files.out), consumer(req.Stderr, files.err)})
	out.Start()

	sup := &driver.Supervisor{Call: c, PGID: pid, Kill: func(sig syscall.Signal) {
		proc.SignalGroup(pid, sig)
		if sig == syscall.SIGTERM {
			proc.SignalGroup(pid, syscall.SIGCONT) // a stopped process takes SIGTERM only then
		}
	}}
	sup.Wait(&st.ended, &s.gone)
	r := &driver.Result{Session: s.name, PID: pid}
	if st.ended.Fired() {
		r.ExitCode, r.Signal, r.Message = status(st.kind, st.code)
		r.SessionLost = r.ExitCode < 0 && r.Signal == 0
	} else {
		s.mirrorShellDeath(r, pid)
	}
	driver.FinishGroup(pid, out, c)
	sup.Finish(r)
	return r, nil
}

// runTerminal runs a call with a terminal as a fresh `bash -c` after the
// init script, spawned on a pseudo-terminal of its own (driver.RunDirect),
// as the POSIX driver runs every call: a session's shell has no terminal
// to give.
func (s *Shell) runTerminal(c *driver.Call) (*driver.Result, error) {
	req := c.Req
	dir, err := driver.ResolveDir(req, s.spec.Dir)
	if err != nil {
		return nil, err
	}
	senv := driver.NewStaticEnv(s.spec.Env)
	prelude := ""
	if s.spec.Init != "" {
		prelude = s.spec.Init + "\n"
	}
	argv := []string{s.spec.Shell, "--noprofile", "--norc", "-c", prelude + req.Script}
	if len(req.Argv) > 0 {
		argv = append([]string{s.spec.Shell, "--noprofile", "--norc", "-c", prelude + `exec "$@"`, "bash"}, req.Argv...)
	}
	return driver.RunDirect(c, s.spec, driver.DirectCmd{Argv: argv, Env: senv, Vars: senv.Final(req, true), Dir: dir})
}

// status turns the shell's end report into a result's fields.
func status(kind string, code int) (int, syscall.Signal, string) {
	switch {
	case kind == "signal" && code > 128:
		return -1, syscall.Signal(code - 128), ""
	case kind == "unknown" && (code < 0 || code > 255):
		return -1, 0, "the call's exit status was lost: its shell found no such child"
	case kind == "unknown" && code > 128 && code < 128+65:
		return -1, syscall.Signal(code - 128), fmt.Sprintf("how the call's process ended is not known: its shell reported status %d, taken for a signal", code)
	}
	return code, 0, ""
}

// mirrorShellDeath ends a call whose session shell died under it (a
// command that signals $$ kills the shell): the call's process group gets
// the signal the shell died of, as bash -c would have died of it, and the
// result says the session was lost.
func (s *Shell) mirrorShellDeath(r *driver.Result, pid int) {
	s.mu.Lock()
	ws, how := s.ws, s.exit
	s.mu.Unlock()
	sig := syscall.SIGKILL
	if ws.Signaled() {
		sig = ws.Signal()
		r.Signal = sig
	}
	proc.SignalGroup(pid, sig)
	proc.SignalGroup(pid, syscall.SIGCONT)
	r.ExitCode, r.SessionLost = -1, true
	r.Message = fmt.Sprintf("the session's shell died during the call (%s); the call's processes got signal %d; the session is replaced", how, int(sig))
}

// endCall forgets the call, and starts the removal of its files and the
// sweep of what it left in the session, which the next call waits for.
func (s *Shell) endCall(n int, files *callFiles) {
	ready := signals.New()
	s.mu.Lock()
	s.cur = nil
	s.ready = ready
	s.mu.Unlock()
	threads.Go(s.spec.Thread, "sweep-"+strconv.Itoa(n), func(*threads.Thread) error {
		defer ready.Go()
		files.close()
		files.remove()
		s.sweep()
		return nil
	})
}

// callFiles are a call's job file and FIFOs, and the pool's ends of them.
type callFiles struct {
	paths    []string
	out, err *fifoReader
	in       *stdinFIFO
}

// prepare writes call n's job and makes its FIFOs, and opens the pool's
// ends, so that the shell's opens do not wait.
func (s *Shell) prepare(n int, req *driver.Request, dir string, vars map[string]string) (*callFiles, error) {
	f := &callFiles{}
	fail := func(err error) (*callFiles, error) {
		f.close()
		f.remove()
		return nil, fmt.Errorf("%s: call %d: %w", s.name, n, err)
	}
	base := filepath.Join(s.dir, strconv.Itoa(n))
	job := base + ".job"
	f.paths = append(f.paths, job)
	if err := os.WriteFile(job, []byte(s.jobText(req, dir, vars)), 0o600); err != nil {
		return fail(err)
	}
	fifos := []string{base + ".out", base + ".err"}
	if req.Stdin != nil {
		fifos = append(fifos, base+".in")
	}
	for _, p := range fifos {
		f.paths = append(f.paths, p)
		if err := unix.Mkfifo(p, 0o600); err != nil {
			return fail(fmt.Errorf("mkfifo: %w", err))
		}
	}
	var err error
	if f.out, err = openFIFOReader(fifos[0]); err != nil {
		return fail(err)
	}
	if f.err, err = openFIFOReader(fifos[1]); err != nil {
		return fail(err)
	}
	if req.Stdin != nil {
		if f.in, err = openStdinFIFO(fifos[2]); err != nil {
			return fail(err)
		}
	}
	return f, nil
}

// close releases the pool's ends (the readers once their pumps are done).
func (f *callFiles) close() {
	if f.out != nil {
		f.out.release()
	}
	if f.err != nil {
		f.err.release()
	}
	if f.in != nil {
		f.in.dropPlaceholder()
		if f.in.w != nil {
			f.in.w.Close()
			f.in.w = nil
		}
	}
}

func (f *callFiles) remove() {
	for _, p := range f.paths {
		os.Remove(p)
	}
}

// newToken returns a fresh random token for a call's reports.
func newToken() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// findProgram checks that argv[0], an external program, exists, as the
// shell would look for it: a name with a slash is a path (relative to
// dir), any other is searched in path.
func findProgram(name, path, dir string) error {
	notFound := func(why string) error {
		return &driver.RequestError{Field: "argv[0]", Kind: driver.NotFound, Problem: name + ": " + why}
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	if filepath.Base(name) != name || name == "." || name == ".." {
		if err := unix.Access(abs(name), unix.X_OK); err != nil {
			return notFound(err.Error())
		}
		return nil
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := abs(filepath.Join(d, name))
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && unix.Access(p, unix.X_OK) == nil {
			return nil
		}
	}
	return notFound("command not found")
}
