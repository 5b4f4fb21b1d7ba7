//go:build linux

package bash

import (
	"slices"
	"time"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// strays returns what calls left behind that outlived their parents, alive
// (a zombie has nothing left to end). The shell is a subreaper, so these
// are reparented to it, and they are its children other than the forker.
// Without a launcher the shell is no subreaper, and strays are
// the members of its session that are none of the shell, the forker, the
// idle children and the calls' processes (see sessionStrays).
//
// A stray that is exiting hands its children to the shell only at the end
// of its exit (after its memory is freed, which takes a while for a large
// one): until then they are under it, and a read of the shell's children
// misses them. strays waits for such handovers, briefly, and reads again;
// an exiting stray that still holds children after that is returned, so
// that killing its tree reaches them.
func (s *Shell) strays() []int {
	if !s.tree {
		return s.sessionStrays()
	}
	children := func() []int {
		return slices.DeleteFunc(proc.ChildrenOf1(s.PID()), func(p int) bool { return p == s.forker })
	}
	var out []int
	poll(100*time.Millisecond, func() (bool, bool) {
		out = children()
		if slices.ContainsFunc(out, handingOver) {
			return false, false
		}
		if !slices.ContainsFunc(out, proc.Ending) {
			return true, false
		}
		// The exiting ones have handed their children over, maybe since
		// the read: read again, until nothing changes.
		again := children()
		stable := slices.Equal(out, again)
		out = again
		return stable, false
	})
	return slices.DeleteFunc(out, func(p int) bool { return proc.Ending(p) && !handingOver(p) })
}

// handingOver reports whether pid is exiting with children it has not
// handed to its subreaper yet.
func handingOver(pid int) bool { return proc.Ending(pid) && len(proc.ChildrenOf1(pid)) > 0 }

// sessionStrays is strays without a subreaper. A child being forked for a
// later call is in the session a moment before the pool hears of it: an
// unknown process while a fork is unreported waits for the report (it
// follows the fork at once), and the members are read again.
func (s *Shell) sessionStrays() []int {
	for {
		members := proc.SessionMembers(s.PID())
		var pending []*signals.Signal
		s.mu.Lock()
		known := map[int]bool{s.PID(): true, s.forker: true, s.running: true}
		for _, sl := range s.slots {
			switch {
			case sl.pid > 0:
				known[sl.pid] = true
			case !sl.used && !sl.forked.Fired():
				pending = append(pending, &sl.forked)
			}
		}
		s.mu.Unlock()
		var out []int
		for _, p := range members {
			if !known[p] {
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return nil
		}
		if len(pending) == 0 {
			return slices.DeleteFunc(out, proc.Ending)
		}
		select {
		case <-signals.And(pending...).Done():
		case <-s.gone.Done():
			return slices.DeleteFunc(out, proc.Ending)
		}
	}
}
