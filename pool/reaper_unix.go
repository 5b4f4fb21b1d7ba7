//go:build unix

package pool

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// reaperScript kills, when its standard input reaches EOF, every process in
// the sessions it was told about. Its input is the pool's lifeline: the pool
// holds the only write end, so EOF means the pool closed it or the process
// died, even by SIGKILL.
const reaperScript = `declare -A s
while read -r -N 16 r; do
  id=$((10#${r:1:14}))
  case ${r:0:1} in
    +) s[$id]=1 ;;
    -) unset "s[$id]" ;;
  esac
done
(( ${#s[@]} )) || exit 0
for round in 1 2 3 4 5; do
  found=0
  for f in /proc/[0-9]*/stat; do
    read -r line < "$f" 2>/dev/null || continue
    rest=${line##*") "}
    read -r _ _ _ sid _ <<<"$rest"
    if [[ -n ${s[$sid]-} ]]; then
      p=${f#/proc/}
      kill -KILL "${p%/stat}" 2>/dev/null && found=1
    fi
  done
  (( found )) || break
done
exit 0
`

// reaper is the pool's lifeline process (C8): sessions and directly spawned
// commands are registered with it by session id, and if the pool's process
// dies without unregistering them, the reaper kills everything left in
// those sessions. Orphaned grandchildren stay in their session, so they are
// found too; only processes that moved to a session of their own escape.
type reaper struct {
	mu     sync.Mutex
	w      *os.File
	cmd    *exec.Cmd
	log    *slog.Logger
	failed bool
}

func startReaper(sp *spawner, bash string, log *slog.Logger) (*reaper, error) {
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
	err = sp.start(cmd)
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("reaper: start %s: %w", bash, err)
	}
	return &reaper{w: w, cmd: cmd, log: log}, nil
}

func (r *reaper) watch(sid int)  { r.send('+', sid) }
func (r *reaper) forget(sid int) { r.send('-', sid) }

func (r *reaper) send(op byte, sid int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w == nil {
		return
	}
	// Fixed-width records: the reaper reads each with one read(2).
	if _, err := fmt.Fprintf(r.w, "%c%014d\n", op, sid); err != nil && !r.failed {
		r.failed = true
		r.log.Error("reaper gone: processes may outlive a crash of this process", "err", err)
	}
}

// close ends the lifeline; the reaper kills whatever is still registered and
// exits. close waits for it.
func (r *reaper) close() {
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
