//go:build linux

package integration

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
)

// bdLauncher is a perl program that starts its arguments with only fds
// 0-2 open and SIGCHLD blocked, as a parent that blocks it would. Every
// process the differential test starts (both sides and the daemon) goes
// through it: a session that passes down the mask it inherited shows it
// where `bash -c`, which resets its mask, does not; and descriptors that
// the test itself inherited without close-on-exec (from whatever started
// `go test`) reach neither side. perl is part of every Debian system
// (perl-base is essential). Its first argument is the program's path, the
// rest its argv, argv[0] included.
const bdLauncher = `use POSIX;
opendir(my $d, "/proc/self/fd") or die "/proc/self/fd: $!";
my @fds = grep { /^[0-9]+$/ && $_ > 2 } readdir($d);
closedir($d);
POSIX::close($_) for @fds;
sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGCHLD)) or die "sigprocmask: $!";
my $p = shift @ARGV;
exec {$p} @ARGV or die "exec $p: $!";`

// bdGrace is how long a process that timed out has between SIGTERM and
// SIGKILL, and how long its output may take to end after that.
const bdGrace = 2 * time.Second

// bdProc is one process run of a side of a case.
type bdProc struct {
	path     string   // the program
	argv     []string // its argv, argv[0] included
	dir      string
	env      []string
	stdin    []byte
	hasStdin bool
	reader   string // a bash script reading the process's stdout, or ""
	merged   bool   // stderr goes to the stdout pipe
	timeout  time.Duration
}

// bdOutcome is what a call gave: its output, its exit status as a shell
// shows it (128+N after death by signal N), and whether the harness had to
// stop it.
type bdOutcome struct {
	stdout, stderr []byte
	status         int
	signal         int  // N when the process died by signal N
	timedOut       bool // then stdout and stderr are what came before the timeout
}

// describe says the outcome's status in words.
func (o bdOutcome) describe() string {
	switch {
	case o.timedOut:
		return "no end (timed out)"
	case o.signal != 0:
		return fmt.Sprintf("%d (killed by signal %d)", o.status, o.signal)
	default:
		return fmt.Sprint(o.status)
	}
}

// statusKey is the outcome's status as compared: timeouts are equal to each
// other and to nothing else.
func (o bdOutcome) statusKey() string {
	if o.timedOut {
		return "timeout"
	}
	return fmt.Sprint(o.status)
}

// run starts the process (in a process group of its own, stdin from the
// given bytes through a pipe or /dev/null, stdout and stderr on pipes,
// stdout through the reader when there is one) and collects its outcome.
// When the process has exited, its output is read to its end, which the
// processes it left behind with the pipes open can delay up to the
// timeout; then whatever is left of its process group is killed. On
// timeout the group gets SIGCONT and SIGTERM, then SIGKILL after bdGrace.
func (p bdProc) run() (bdOutcome, error) {
	var o bdOutcome
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	pipe := func() (*os.File, *os.File, error) {
		r, w, err := os.Pipe()
		if err == nil {
			closers = append(closers, r, w)
		}
		return r, w, err
	}
	cmd := exec.Command("perl", append([]string{"-e", bdLauncher, p.path}, p.argv...)...)
	cmd.Dir, cmd.Env = p.dir, p.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdinW *os.File
	if p.hasStdin {
		r, w, err := pipe()
		if err != nil {
			return o, err
		}
		cmd.Stdin, stdinW = r, w
	} // else os/exec gives /dev/null
	outR, outW, err := pipe()
	if err != nil {
		return o, err
	}
	errR, errW, err := pipe()
	if err != nil {
		return o, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if p.merged {
		cmd.Stderr = outW
	}

	var reader *exec.Cmd
	readerDone := make(chan struct{})
	if p.reader != "" {
		r, w, err := pipe()
		if err != nil {
			return o, err
		}
		reader = exec.Command("/bin/bash", "-c", p.reader)
		reader.Dir, reader.Env = p.dir, p.env
		reader.Stdin, reader.Stdout = outR, w
		reader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := reader.Start(); err != nil {
			return o, fmt.Errorf("starting the reader: %w", err)
		}
		go func() { reader.Wait(); close(readerDone) }()
		outR.Close() // the reader's now
		w.Close()
		outR = r
	} else {
		close(readerDone)
	}
	if err := cmd.Start(); err != nil {
		if reader != nil {
			reader.Process.Kill()
			<-readerDone
		}
		return o, fmt.Errorf("starting %s: %w", p.argv[0], err)
	}
	// The child's ends are the child's now.
	outW.Close()
	errW.Close()
	if r, ok := cmd.Stdin.(*os.File); ok {
		r.Close()
	}
	if stdinW != nil {
		go func() {
			stdinW.Write(p.stdin) // an early end of the reader is its business
			stdinW.Close()
		}()
	}
	stdout, stderr := new(proctest.Buffer), new(proctest.Buffer)
	outDone, errDone := make(chan struct{}), make(chan struct{})
	go func() { io.Copy(stdout, outR); close(outDone) }()
	go func() { io.Copy(stderr, errR); close(errDone) }()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()

	pgid := cmd.Process.Pid
	o.timedOut = !waitAll(p.timeout, exited, outDone, errDone, readerDone)
	if o.timedOut {
		o.stdout, o.stderr = []byte(stdout.String()), []byte(stderr.String())
		for _, g := range bdGroups(pgid, reader) {
			syscall.Kill(-g, syscall.SIGCONT)
			syscall.Kill(-g, syscall.SIGTERM)
		}
		select {
		case <-exited:
		case <-time.After(bdGrace):
		}
	}
	// Whatever is left of the groups (jobs a script left behind, a process
	// that did not end on SIGTERM) is killed; output held open by processes
	// that left the groups is abandoned after bdGrace.
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-exited
	abandon := time.AfterFunc(bdGrace, func() { outR.Close(); errR.Close() })
	<-outDone
	<-errDone
	abandon.Stop()
	if reader != nil {
		select {
		case <-readerDone:
		default:
			syscall.Kill(-reader.Process.Pid, syscall.SIGKILL)
		}
	}
	<-readerDone
	if !o.timedOut {
		o.stdout, o.stderr = []byte(stdout.String()), []byte(stderr.String())
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		switch {
		case !ok:
			return o, errors.New("no wait status")
		case ws.Signaled():
			o.signal = int(ws.Signal())
			o.status = 128 + o.signal
		default:
			o.status = ws.ExitStatus()
		}
	}
	return o, nil
}

// waitAll waits until every channel is closed and reports whether they all
// were within bound.
func waitAll(bound time.Duration, chans ...chan struct{}) bool {
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for _, ch := range chans {
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
	return true
}

// bdGroups is the process groups of a run: the process's and the reader's.
func bdGroups(pgid int, reader *exec.Cmd) []int {
	if reader == nil {
		return []int{pgid}
	}
	return []int{pgid, reader.Process.Pid}
}

// bdEnviron applies a case's env lines to base.
func bdEnviron(base []string, lines []string, dir string) []string {
	env := slices.Clone(base)
	for _, kv := range lines {
		name, _, _ := strings.Cut(strings.TrimPrefix(kv, "-"), "=")
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, name+"=") })
		if !strings.HasPrefix(kv, "-") {
			env = append(env, strings.ReplaceAll(kv, "@DIR@", dir))
		}
	}
	return env
}

// seed empties dir and writes the case's files into it.
func (c *bdCase) seed(dir string) error {
	// A script may have taken the write or search bit from a directory it
	// made; give them back so that the removal works for any user.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range c.files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil { // past the umask
			return err
		}
	}
	return nil
}
