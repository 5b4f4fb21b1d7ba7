//go:build linux

package proc

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Children returns the pids of pid's children, from
// /proc/PID/task/*/children (every thread can have children of its own).
// It returns nil if pid is gone.
func Children(pid int) []int {
	base := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(base + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range bytes.Fields(b) {
			if n, err := strconv.Atoi(string(f)); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// ChildrenOf1 returns the children of a process that has one thread (a
// shell), with one read.
func ChildrenOf1(pid int) []int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
	if err != nil {
		return nil
	}
	return parsePids(b)
}

func parsePids(b []byte) []int {
	var out []int
	for _, f := range bytes.Fields(b) {
		if n, err := strconv.Atoi(string(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Descendants returns every process below the given roots (not the roots
// themselves), parents before their children.
func Descendants(roots ...int) []int {
	var out []int
	queue := append([]int(nil), roots...)
	seen := map[int]bool{}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range Children(p) {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

// KillTree sends sig to each root and to everything below it, parents
// first, for a few rounds while new processes keep appearing (a process may
// fork while it is being killed). It returns how many processes it
// signalled in all.
func KillTree(sig syscall.Signal, roots ...int) int {
	total := 0
	signalled := map[int]bool{}
	for round := 0; round < 5; round++ {
		found := false
		targets := append(append([]int(nil), roots...), Descendants(roots...)...)
		for _, p := range targets {
			if signalled[p] && sig != syscall.SIGKILL {
				continue
			}
			if syscall.Kill(p, sig) == nil {
				if !signalled[p] {
					total++
					found = true
				}
				signalled[p] = true
			}
		}
		if !found {
			break
		}
	}
	return total
}

// Parent returns the parent pid of pid, from /proc/PID/stat.
func Parent(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	p, err := strconv.Atoi(string(f[1]))
	return p, err == nil
}

// ForegroundGroup returns the foreground process group of pid's
// controlling terminal (the tpgid field of /proc/PID/stat), or -1.
func ForegroundGroup(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 6 {
		return -1
	}
	g, err := strconv.Atoi(string(f[5]))
	if err != nil {
		return -1
	}
	return g
}

// ProcStat is what Stat reads of /proc/PID/stat.
type ProcStat struct {
	State string // R, S, D, T, Z, ...
	PPID  int
	PGID  int
	SID   int
}

// Stat reads pid's state, parent, process group and session (zero values
// if pid is gone).
func Stat(pid int) ProcStat {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcStat{}
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ProcStat{}
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 4 {
		return ProcStat{}
	}
	n := func(x []byte) int { v, _ := strconv.Atoi(string(x)); return v }
	return ProcStat{State: string(f[0]), PPID: n(f[1]), PGID: n(f[2]), SID: n(f[3])}
}

// ReadingFD reports the descriptor pid is blocked reading (in read(2)), from
// /proc/PID/syscall.
func ReadingFD(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/syscall")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 || string(f[0]) != "0" {
		return 0, false
	}
	fd, err := strconv.ParseInt(strings.TrimPrefix(string(f[1]), "0x"), 16, 32)
	return int(fd), err == nil
}
