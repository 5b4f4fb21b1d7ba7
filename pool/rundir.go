package pool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
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

// runDirPattern names the pools' directories; the * is random. A directory
// is made as newDirPrefix+random, locked, then renamed to poolDirPrefix+random,
// so that a sweep never finds a live pool's directory before its lock.
const (
	runDirPattern = poolDirPrefix + "*"
	poolDirPrefix = "mothreads-pool-"
	newDirPrefix  = "mothreads-new-"
)

// openRunDir makes and locks the pool's directory in parent, after removing
// the directories there of pools that are gone. A directory it cannot
// remove is logged and left.
func openRunDir(parent string, log *slog.Logger) (*runDir, error) {
	sweepRunDirs(parent, log)
	made, err := os.MkdirTemp(parent, newDirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("config runtime_dir: %w", err)
	}
	unlock, err := lockRunDir(made)
	if err != nil {
		os.RemoveAll(made)
		return nil, fmt.Errorf("config runtime_dir: lock %s: %w", made, err)
	}
	dir := filepath.Join(parent, poolDirPrefix+strings.TrimPrefix(filepath.Base(made), newDirPrefix))
	if err := os.Rename(made, dir); err != nil {
		unlock()
		os.RemoveAll(made)
		return nil, fmt.Errorf("config runtime_dir: %w", err)
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
// symbolic link; and one that a pool died making (newDirPrefix) a minute
// ago or more.
func sweepRunDirs(parent string, log *slog.Logger) {
	matches, _ := filepath.Glob(filepath.Join(parent, runDirPattern))
	made, _ := filepath.Glob(filepath.Join(parent, newDirPrefix+"*"))
	for _, dir := range made {
		if fi, err := os.Lstat(dir); err == nil && time.Since(fi.ModTime()) > time.Minute {
			matches = append(matches, dir)
		}
	}
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
