//go:build linux

package proc

import (
	"bytes"
	"os"
	"strconv"
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
	var buf [512]byte
	b, err := readProc(buf[:], "/proc/"+strconv.Itoa(pid)+"/task/"+strconv.Itoa(pid)+"/children")
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
