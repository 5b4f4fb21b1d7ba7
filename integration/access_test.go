//go:build linux

package integration

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
)

// Users of the tests that act as other users: an attacker (nobody) and a
// victim with no account (a uid only, as setpriv allows).
const (
	attackerUID = "65534"
	victimUID   = "54321"
)

// sharedBin holds copies of the binaries that every user may run (the
// build's own directory is root's 0700).
var sharedBin struct {
	once                  sync.Once
	dir                   string
	mothreads, mothreadsd string
	err                   error
}

// asUser returns a command that runs the copy of binary (mothreads or
// mothreadsd) as uid, with the env's environment plus extra and "/" as its
// directory. It skips the test unless it runs as root with setpriv.
func (e *env) asUser(uid, binary string, args []string, extra ...string) *exec.Cmd {
	e.t.Helper()
	if os.Geteuid() != 0 {
		e.t.Skip("needs root, to act as other users")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		e.t.Skip("needs setpriv (util-linux) to act as other users")
	}
	sharedBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "mtshared")
		if err == nil {
			err = os.Chmod(dir, 0o755)
		}
		for _, b := range []struct{ from, to string }{{bin.mothreads, "mothreads"}, {bin.mothreadsd, "mothreadsd"}} {
			var data []byte
			if err == nil {
				data, err = os.ReadFile(b.from)
			}
			if err == nil {
				// No process may be forked while the file is open for
				// writing: a child would hold the descriptor until its
				// exec, and exec of the copy would fail with ETXTBSY.
				syscall.ForkLock.Lock()
				err = os.WriteFile(filepath.Join(dir, b.to), data, 0o755)
				syscall.ForkLock.Unlock()
			}
		}
		sharedBin.dir, sharedBin.err = dir, err
		sharedBin.mothreads, sharedBin.mothreadsd = filepath.Join(dir, "mothreads"), filepath.Join(dir, "mothreadsd")
	})
	if sharedBin.err != nil {
		e.t.Fatal(sharedBin.err)
	}
	path := sharedBin.mothreads
	if binary == "mothreadsd" {
		path = sharedBin.mothreadsd
	}
	cmd := exec.Command(setpriv, append([]string{"--reuid=" + uid, "--regid=" + uid, "--clear-groups", path}, args...)...)
	cmd.Env = e.environ(extra...)
	cmd.Dir = "/"
	return cmd
}

// stickyDir returns a new directory like /tmp: root's, world-writable,
// sticky, under a parent everyone may enter.
func (e *env) stickyDir() string {
	e.t.Helper()
	if err := os.Chmod(e.dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	d := filepath.Join(e.dir, "tmp")
	if err := os.Mkdir(d, 0o700); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// TestPlantedSocketDirectory is H1 and H2 of the security report, as the
// users themselves: the attacker (nobody) creates the victim's socket
// directory first, world-writable, with a symbolic link where the
// auto-start log goes, pointing at a file of the victim's. The victim's
// mothreads exec fails with a message naming the directory and its owner;
// it starts no daemon and writes nothing through the link.
func TestPlantedSocketDirectory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tmp := e.stickyDir()
	home := filepath.Join(tmp, "victim-home")
	planted := filepath.Join(tmp, "mothreads-"+victimUID)
	sock := filepath.Join(planted, "mothreads.sock")
	mustRun(t, e.asUser(victimUID, "mothreads", nil), "sh", "-c", "mkdir -m 700 "+home+" && echo 'alias ls=ls' > "+home+"/.bashrc")
	mustRun(t, e.asUser(attackerUID, "mothreads", nil), "sh", "-c",
		"mkdir -m 777 "+planted+" && ln -s "+home+"/.bashrc "+sock+".log && ln -s "+home+"/created "+sock+".lock")
	r := e.runCmd(e.asUser(victimUID, "mothreads", []string{"exec", "--", "echo", "hi"}, "MOTHREADS_SOCKET="+sock, "SECRET_API_KEY=sk-live-123456"))
	r.want(t, 125)
	if want := "socket directory " + planted + " is owned by uid 65534, not by uid " + victimUID + " or root; refusing to use it"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q, want it to say %q", r.stderr, want)
	}
	if b, err := os.ReadFile(filepath.Join(home, ".bashrc")); err != nil || string(b) != "alias ls=ls\n" {
		t.Errorf("the victim's .bashrc is now %q (%v): written through the planted link", b, err)
	}
	if _, err := os.Lstat(filepath.Join(home, "created")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was created through the planted link (%v)", err)
	}
	if pids := e.markedDaemons(); len(pids) > 0 {
		t.Errorf("daemons started for the planted directory: %v", pids)
	}
}

// TestPlantedDaemon is H1 with a live daemon of the attacker's at the
// victim's socket path: the victim's CLI never connects, so the attacker
// receives nothing (today's daemon would log the victim's refused call).
func TestPlantedDaemon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tmp := e.stickyDir()
	dir := filepath.Join(tmp, "mothreads-"+victimUID)
	sock := filepath.Join(dir, "mothreads.sock")
	attacker := e.asUser(attackerUID, "mothreadsd", []string{"--socket", sock, "--min-idle", "0", "--log-level", "debug"})
	logs := new(proctest.Buffer)
	attacker.Stderr = logs
	if err := attacker.Start(); err != nil {
		t.Fatal(err)
	}
	gone := make(chan struct{})
	go func() { attacker.Wait(); close(gone) }()
	t.Cleanup(func() { attacker.Process.Signal(syscall.SIGTERM); <-gone })
	if !logs.WaitFor("msg=serving", daemonStartBound, gone) {
		t.Fatalf("the attacker's daemon did not start:\n%s", logs)
	}
	r := e.runCmd(e.asUser(victimUID, "mothreads", []string{"exec", "--no-autostart", "--", "echo", "hi"}, "MOTHREADS_SOCKET="+sock))
	r.want(t, 125)
	if want := "socket directory " + dir + " is owned by uid 65534, not by uid " + victimUID + " or root"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q, want it to say %q", r.stderr, want)
	}
	// The same as root: root's calls go to root's daemons only.
	r = e.runCmd(e.cli([]string{"exec", "--", "id", "-u"}, "MOTHREADS_SOCKET="+sock))
	r.want(t, 125)
	if want := "is owned by uid 65534, not by root"; !strings.Contains(r.stderr, want) {
		t.Errorf("root: stderr %q, want it to say %q", r.stderr, want)
	}
	// Told explicitly, root uses that user's daemon, which runs it as that user.
	r = e.runCmd(e.cli([]string{"--daemon-uid", attackerUID, "exec", "--", "id", "-u"}, "MOTHREADS_SOCKET="+sock))
	r.want(t, 0)
	if r.stdout != attackerUID+"\n" {
		t.Errorf("with --daemon-uid: stdout %q, want %s", r.stdout, attackerUID)
	}
	if n := strings.Count(logs.String(), "refused a call"); n != 0 {
		t.Errorf("the attacker's daemon saw %d calls of other users:\n%s", n, logs)
	}
}

// TestSocketDirectoryNotEnterable: a user who may not enter the socket's
// directory (another user's daemon serves there) is told so, not that no
// daemon answers: exec with and without --no-autostart, and status, exit
// 125 with the permission error, and exec does not try to start a daemon
// there (it used to, and failed on the auto-start log instead).
func TestSocketDirectoryNotEnterable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	for _, args := range [][]string{{"exec", "--no-autostart", "--", "echo", "hi"}, {"exec", "--", "echo", "hi"}, {"status"}} {
		r := e.runCmd(e.asUser(victimUID, "mothreads", args))
		r.want(t, 125)
		if !strings.Contains(r.stderr, "permission denied") || strings.Contains(r.stderr, "no daemon") || strings.Contains(r.stderr, "auto-start") {
			t.Errorf("%v as uid %s: stderr %q; want it to say permission denied, neither that no daemon answers nor that one could not be auto-started", args, victimUID, r.stderr)
		}
	}
}

func mustRun(t *testing.T, cmd *exec.Cmd, args ...string) {
	t.Helper()
	// Replace the mothreads binary by the given command, keeping setpriv's
	// arguments (the last element of cmd.Args is the binary).
	cmd.Args = append(cmd.Args[:len(cmd.Args)-1], args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
}

// TestAutostartPassesNoDescriptors is M4: a caller's descriptor that the
// CLI inherited (here fd 3, a pipe) does not reach the auto-started
// daemon: the reader sees EOF as soon as the caller closes its end, while
// the daemon lives on.
func TestAutostartPassesNoDescriptors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.stopOnCleanup()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := e.cli([]string{"exec", "--", "true"})
	cmd.ExtraFiles = []*os.File{w}
	e.runCmd(cmd).want(t, 0)
	w.Close()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(r); err != nil {
		t.Errorf("the pipe's reader got %v, want EOF: someone else still holds it: %v", err, pipeHolders(t, r))
	}
	if s := e.status(); exited(s.PID) {
		t.Errorf("the daemon exited")
	}
}

// TestDaemonMarksInheritedDescriptors is M4 on the daemon's side: a daemon
// started with an extra inheritable descriptor keeps it to itself; no
// session, reaper or command gets it.
func TestDaemonMarksInheritedDescriptors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	cmd := exec.Command(bin.mothreadsd, "--socket", e.socket, "--min-idle", "1", "--log-level", "debug")
	cmd.Env = e.environ()
	cmd.ExtraFiles = []*os.File{w}
	logs := new(proctest.Buffer)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); <-done })
	if !logs.WaitFor("msg=serving", daemonStartBound, done) {
		t.Fatalf("mothreadsd did not start:\n%s", logs)
	}
	out := e.run("exec", "--no-autostart", "-c", "ls /proc/self/fd >/dev/null; sleep 0.2 & wait").want(t, 0)
	_ = out
	for _, pid := range pipeHolders(t, r) {
		if pid != os.Getpid() && pid != cmd.Process.Pid {
			t.Errorf("process %d (%s) holds the daemon's inherited pipe", pid, proctest.Cmdline(pid))
		}
	}
}

// pipeHolders returns the processes that have the pipe of f open.
func pipeHolders(t *testing.T, f *os.File) []int {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("pipe:[%d]", fi.Sys().(*syscall.Stat_t).Ino)
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	seen := map[int]bool{}
	var pids []int
	for _, p := range procs {
		if link, err := os.Readlink(p); err == nil && link == want {
			var pid int
			fmt.Sscanf(strings.TrimPrefix(p, "/proc/"), "%d", &pid)
			if !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
