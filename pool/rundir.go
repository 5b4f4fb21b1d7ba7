package pool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// runDir is the pool's own directory under Config.RuntimeDir, which holds
// its sessions' private directories. It is locked for the pool's life (see
// lockRunDir), so that a pool that starts later can tell the directories of
// a pool that died (kill -9, a failed shutdown: secrets of --init and of
// callers' environments would stay on a memory file system until reboot)
// from those of a pool that runs, and remove them.
type runDir struct {
	path   string
	unlock func()
}

// runDirPattern names the pools' directories; the * is random.
const runDirPattern = "mothreads-pool-*"

// openRunDir makes and locks the pool's directory in parent, after removing
// the directories there of pools that are gone. A directory it cannot
// remove is logged and left.
func openRunDir(parent string, log *slog.Logger) (*runDir, error) {
	sweepRunDirs(parent, log)
	dir, err := os.MkdirTemp(parent, runDirPattern)
	if err != nil {
		return nil, fmt.Errorf("config runtime_dir: %w", err)
	}
	unlock, err := lockRunDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("config runtime_dir: lock %s: %w", dir, err)
	}
	return &runDir{path: dir, unlock: unlock}, nil
}

// close removes the directory (its sessions are gone) and drops the lock.
func (d *runDir) close(log *slog.Logger) {
	if err := os.RemoveAll(d.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("runtime directory not removed", "dir", d.path, "err", err)
	}
	d.unlock()
}

// sweepRunDirs removes the directories in parent of pools that no longer
// run: a directory whose lock nobody holds, owned by this user, not a
// symbolic link.
func sweepRunDirs(parent string, log *slog.Logger) {
	matches, _ := filepath.Glob(filepath.Join(parent, runDirPattern))
	for _, dir := range matches {
		if !ownDir(dir) {
			continue
		}
		unlock, err := lockRunDir(dir)
		if err != nil {
			continue // a live pool's, or not ours to judge
		}
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("stale runtime directory not removed", "dir", dir, "err", err)
		} else {
			log.Info("removed the runtime directory of a pool that is gone", "dir", dir)
		}
		unlock()
	}
}
