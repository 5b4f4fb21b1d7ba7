//go:build unix

package sockpath_test

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mothreads/mothreads/internal/sockpath"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// nobody is the uid the tests give away files to (needs root).
const nobody = 65534

func mkdir(t *testing.T, p string, mode fs.FileMode) string {
	t.Helper()
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantUnsafe(t *testing.T, err error, contains string) {
	t.Helper()
	var ue *sockpath.UnsafeError
	if !errors.As(err, &ue) || !errors.Is(err, sockpath.ErrUnsafe) || !strings.Contains(err.Error(), contains) {
		t.Errorf("err = %v, want an *UnsafeError containing %q", err, contains)
	}
}

func TestCheckDirModes(t *testing.T) {
	uid := os.Geteuid()
	base := t.TempDir()
	good := mkdir(t, filepath.Join(base, "good"), 0o700)
	if err := sockpath.CheckDir(good, uid); err != nil {
		t.Errorf("a 0700 directory: %v", err)
	}
	readable := mkdir(t, filepath.Join(base, "readable"), 0o755)
	if err := sockpath.CheckDir(readable, uid); err != nil {
		t.Errorf("a 0755 directory: %v", err)
	}
	groupW := mkdir(t, filepath.Join(base, "groupw"), 0o770)
	wantUnsafe(t, sockpath.CheckDir(groupW, uid), "socket directory "+groupW+" is writable by its group or others (mode 0770")
	// Sticky is fine for an ancestor, not for the socket's own directory.
	sticky := mkdir(t, filepath.Join(base, "sticky"), 0o777|fs.ModeSticky)
	wantUnsafe(t, sockpath.CheckDir(sticky, uid), "socket directory "+sticky+" is writable")
	underSticky := mkdir(t, filepath.Join(sticky, "d"), 0o700)
	if err := sockpath.CheckDir(underSticky, uid); err != nil {
		t.Errorf("under a sticky world-writable ancestor: %v", err)
	}
	open := mkdir(t, filepath.Join(base, "open"), 0o777)
	under := mkdir(t, filepath.Join(open, "d"), 0o700)
	wantUnsafe(t, sockpath.CheckDir(under, uid), "directory "+open+" is writable by its group or others and not sticky (mode 0777)")
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, sockpath.CheckDir(file, uid), "is not a directory")
	if err := sockpath.CheckDir(filepath.Join(base, "missing"), uid); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, sockpath.ErrUnsafe) {
		t.Errorf("a missing directory: %v, want fs.ErrNotExist", err)
	}
}

func TestCheckDirSymlinks(t *testing.T) {
	uid := os.Geteuid()
	base := t.TempDir()
	real := mkdir(t, filepath.Join(base, "real"), 0o700)
	mkdir(t, filepath.Join(real, "sock"), 0o700)
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	// The socket's directory itself may not be a link.
	wantUnsafe(t, sockpath.CheckDir(link, uid), "socket directory "+link+" is a symbolic link")
	// A link among the ancestors is followed, and its target checked.
	if err := sockpath.CheckDir(filepath.Join(link, "sock"), uid); err != nil {
		t.Errorf("through a link to a good directory: %v", err)
	}
	rel := filepath.Join(base, "rel")
	if err := os.Symlink("real", rel); err != nil {
		t.Fatal(err)
	}
	if err := sockpath.CheckDir(filepath.Join(rel, "sock"), uid); err != nil {
		t.Errorf("through a relative link: %v", err)
	}
	open := mkdir(t, filepath.Join(base, "open"), 0o777)
	mkdir(t, filepath.Join(open, "sock"), 0o700)
	bad := filepath.Join(base, "bad")
	if err := os.Symlink(open, bad); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, sockpath.CheckDir(filepath.Join(bad, "sock"), uid), "directory "+open+" is writable")
	loop := filepath.Join(base, "loop")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	if err := sockpath.CheckDir(filepath.Join(loop, "x"), uid); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Errorf("a link loop: %v", err)
	}
}

// TestCheckOwners: directories and sockets owned by another user (the
// attack of H1: /tmp/mothreads-<uid> made by someone else first).
func TestCheckOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give files to another user")
	}
	base := t.TempDir()
	planted := mkdir(t, filepath.Join(base, "planted"), 0o700)
	if err := os.Chown(planted, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, sockpath.CheckDir(planted, 0), "socket directory "+planted+" is owned by uid 65534, not by root")
	wantUnsafe(t, sockpath.CheckDir(planted, 1002), "socket directory "+planted+" is owned by uid 65534, not by uid 1002 or root")
	if err := sockpath.CheckDir(planted, nobody); err != nil {
		t.Errorf("nobody's own directory, for nobody: %v", err)
	}
	// A directory of root's is fine for anyone.
	mine := mkdir(t, filepath.Join(base, "mine"), 0o700)
	if err := sockpath.CheckDir(mine, nobody); err != nil {
		t.Errorf("root's directory, for nobody: %v", err)
	}
	// An ancestor owned by another user can swap what is below it (L1).
	theirs := mkdir(t, filepath.Join(base, "theirs"), 0o755)
	if err := os.Chown(theirs, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	below := mkdir(t, filepath.Join(theirs, "d"), 0o700)
	wantUnsafe(t, sockpath.CheckDir(below, 0), "directory "+theirs+" is owned by uid 65534")

	sock := filepath.Join(mine, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := sockpath.CheckSocket(sock, 0); err != nil {
		t.Errorf("root's socket for root: %v", err)
	}
	wantUnsafe(t, sockpath.CheckSocket(sock, 1002), "socket "+sock+" is owned by uid 0, not by uid 1002")
	file := filepath.Join(mine, "f.sock")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, sockpath.CheckSocket(file, 0), "is not a socket")
	if err := sockpath.CheckSocket(filepath.Join(mine, "none.sock"), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing socket: %v, want fs.ErrNotExist", err)
	}
}

func TestPrepareDir(t *testing.T) {
	uid := os.Geteuid()
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b", "c")
	if err := sockpath.PrepareDir(dir, uid); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(base, "a"), filepath.Join(base, "a", "b"), dir} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want a 0700 directory", p, fi.Mode(), err)
		}
	}
	if err := sockpath.PrepareDir(dir, uid); err != nil {
		t.Errorf("again: %v", err)
	}
	// Nothing is created under a directory that fails the rule.
	open := mkdir(t, filepath.Join(base, "open"), 0o777)
	wantUnsafe(t, sockpath.PrepareDir(filepath.Join(open, "x", "y"), uid), "directory "+open+" is writable")
	if _, err := os.Lstat(filepath.Join(open, "x")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("created under an unsafe directory (%v)", err)
	}
}

func TestDefault(t *testing.T) {
	t.Setenv("MOTHREADS_SOCKET", "/run/x/m.sock")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if have := sockpath.Default(); have != "/run/x/m.sock" {
		t.Errorf("with MOTHREADS_SOCKET: %q", have)
	}
	t.Setenv("MOTHREADS_SOCKET", "")
	if have := sockpath.Default(); have != "/run/user/1000/mothreads/mothreads.sock" {
		t.Errorf("with XDG_RUNTIME_DIR: %q", have)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if have, want := sockpath.Default(), filepath.Join("/tmp", "mothreads-"+itoa(os.Getuid()), "mothreads.sock"); have != want {
		t.Errorf("fallback: %q, want %q", have, want)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
