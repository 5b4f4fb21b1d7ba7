//go:build linux

package proc

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// SessionMembers returns the pids of the processes whose session id is sid,
// by scanning /proc. It is for cleanup paths (a session stopping, a command
// that escaped its process group), never for the per-call fast path.
func SessionMembers(sid int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var out []int
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if s, ok := procSession(pid); ok && s == sid {
			out = append(out, pid)
		}
	}
	return out
}

// GroupSet returns the pids of the processes in process group pgid, by
// scanning /proc (for the kill path, never the per-call fast path).
func GroupSet(pgid int) map[int]bool {
	out := map[int]bool{}
	d, err := os.Open("/proc")
	if err != nil {
		return out
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if f := procStat(pid); len(f) >= 3 && f[2] == strconv.Itoa(pgid) {
			out[pid] = true
		}
	}
	return out
}

// procStat returns the fields of /proc/pid/stat after the command name:
// state, ppid, pgrp, session, ...
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	// The command name (field 2) may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// procSession reads the session id of pid from /proc/pid/stat.
func procSession(pid int) (int, bool) {
	f := procStat(pid)
	if len(f) < 4 {
		return 0, false
	}
	s, err := strconv.Atoi(f[3])
	return s, err == nil
}

// KillSession sends sig to every process in session sid until none is left
// or rounds run out (processes may fork while being killed). It returns how
// many processes it signalled in all.
func KillSession(sid int, sig syscall.Signal) int {
	total := 0
	for range 5 {
		pids := SessionMembers(sid)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if syscall.Kill(pid, sig) == nil {
				total++
			}
		}
	}
	return total
}

// PrivateMemory returns the private memory (clean + dirty, in bytes) of pid,
// from /proc/pid/smaps_rollup, or 0 if unknown.
func PrivateMemory(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	defer f.Close()
	var kb int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Private_Clean:") || strings.HasPrefix(line, "Private_Dirty:") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				n, _ := strconv.ParseInt(fields[1], 10, 64)
				kb += n
			}
		}
	}
	return kb * 1024
}
