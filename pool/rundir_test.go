//go:build linux

package pool_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

// Issue 11, L4: the session directories of a pool that died (kill -9) hold
// the environment given to its sessions; the next pool removes them, and
// leaves those of a pool that runs.
func TestStaleRunDirsAreRemoved(t *testing.T) {
	parent := t.TempDir()
	plant := func(name string) string {
		dir := filepath.Join(parent, name)
		if err := os.MkdirAll(filepath.Join(dir, "mothreads-session-1-x"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "mothreads-session-1-x", "env"), []byte("SECRET=x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	stale := plant("mothreads-pool-dead")
	live := plant("mothreads-pool-live")
	other := plant("unrelated")
	// A live pool holds its lock.
	fd, err := unix.Open(filepath.Join(live, "lock"), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	root := threads.NewRoot("test", threads.Logger(testLogger(t)))
	p, err := pool.New(root, pool.Config{RuntimeDir: parent, Launcher: launcher()})
	if err != nil {
		t.Fatal(err)
	}
	wantExit(t, run(t, p, script("true")), 0)
	for dir, want := range map[string]bool{stale: false, live: true, other: true} {
		if _, err := os.Stat(dir); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(dir), err == nil, want)
		}
	}
	mine, _ := filepath.Glob(filepath.Join(parent, "mothreads-pool-*"))
	if len(mine) != 2 {
		t.Errorf("pool directories while the pool runs: %v, want the live one and the pool's own", mine)
	}
	root.Stop()
	if err := root.Join(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(parent, "mothreads-pool-*"))
	if len(left) != 1 || left[0] != live {
		t.Errorf("pool directories after the pool stopped: %v, want only %s", left, live)
	}
}

// Pools that start at once in one runtime directory all start: a pool's
// sweep once locked (and removed) the directory another had just made and
// not yet locked, which then failed to start (seen in CI).
func TestPoolsStartTogether(t *testing.T) {
	parent := t.TempDir()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			root := threads.NewRoot("test", threads.Logger(testLogger(t)))
			defer func() { root.Stop(); root.Join() }()
			p, err := pool.New(root, pool.Config{RuntimeDir: parent, Launcher: launcher(), MinIdle: 1})
			if err != nil {
				t.Error(err)
				return
			}
			if o, err := tryRun(p, script("echo ok")); err != nil || o.stdout != "ok\n" {
				t.Errorf("a call: %v, %v", o.Result, err)
			}
		})
	}
	wg.Wait()
}
