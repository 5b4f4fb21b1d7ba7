//go:build unix

package proc

import (
	_ "embed"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// reaperScript kills, when its standard input reaches EOF, every process in
// the sessions it was told about (see reaper.bash).
//
//go:embed reaper.bash
var reaperScript string

// reaperRecordLen is the size of one record on the lifeline: an operation
// byte, 14 digits and a newline. reaper.bash reads it with `read -N 16`.
const reaperRecordLen = 16

// Reaper is the pool's lifeline process (C8): sessions and directly spawned
// commands are registered with it by session id, and if the pool's process
// dies without unregistering them, the reaper kills everything left in
// those sessions. Orphaned grandchildren stay in their session, so they are
// found too; only processes that moved to a session of their own escape.
// It finds them through /proc: on systems without it, the reaper kills
// nothing. A nil *Reaper is valid and does nothing.
type Reaper struct {
	mu     sync.Mutex
	w      *os.File
	cmd    *exec.Cmd
	log    *slog.Logger
	failed bool
}

// StartReaper starts the reaper with bash, from sp.
func StartReaper(sp *Spawner, bash string, log *slog.Logger) (*Reaper, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("reaper: pipe: %w", err)
	}
	cmd := exec.Command(bash, "--noprofile", "--norc", "-c", reaperScript, "mothreads-reaper")
	cmd.Stdin = r
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	// Its own session, and no parent-death signal: it must outlive us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = sp.Start(cmd)
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("reaper: start %s: %w", bash, err)
	}
	return &Reaper{w: w, cmd: cmd, log: log}, nil
}

// Watch registers session sid: if the pool's process dies, what is in it
// is killed.
func (r *Reaper) Watch(sid int) { r.send('+', sid) }

// Forget unregisters session sid.
func (r *Reaper) Forget(sid int) { r.send('-', sid) }

func (r *Reaper) send(op byte, sid int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w == nil {
		return
	}
	if _, err := r.w.Write(reaperRecord(op, sid)); err != nil && !r.failed {
		r.failed = true
		r.log.Error("reaper gone: processes may outlive a crash of this process", "err", err)
	}
}

// reaperRecord is one fixed-width record for the lifeline, reaperRecordLen
// bytes: fixed width lets the reaper read each with one read(2).
func reaperRecord(op byte, sid int) []byte {
	return fmt.Appendf(nil, "%c%014d\n", op, sid)
}

// Close ends the lifeline; the reaper kills whatever is still registered and
// exits. Close waits for it.
func (r *Reaper) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	w := r.w
	r.w = nil
	r.mu.Unlock()
	if w != nil {
		w.Close()
		r.cmd.Wait()
	}
}
