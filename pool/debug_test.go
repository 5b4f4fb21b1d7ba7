//go:build linux

package pool_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

func TestDebugStats(t *testing.T) {
	root := threads.NewRoot("test")
	defer func() { root.Stop(); root.Join() }()
	p, _ := pool.New(root, pool.Config{MinIdle: 2})
	start := time.Now()
	gap, _ := time.ParseDuration(os.Getenv("MT_GAP"))
	var lat []time.Duration
	for range callsN() {
		if gap > 0 {
			time.Sleep(gap)
		}
		if os.Getenv("MT_WARM") != "" {
			p.WaitWarm(context.Background())
		}
		t0 := time.Now()
		p.Run(context.Background(), &pool.Request{Script: "true"})
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	t.Logf("median %v p90 %v", lat[len(lat)/2], lat[len(lat)*9/10])
	t.Logf("per call %v; stats %+v", time.Since(start)/time.Duration(callsN()), p.Stats())
}

func callsN() int {
	if n, err := strconv.Atoi(os.Getenv("MT_N")); err == nil {
		return n
	}
	return 2000
}

func cpuTicks(pid int) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	n := 0
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		v, _ := strconv.Atoi(f[i])
		n += v
	}
	return n
}

func TestDebugShellCPU(t *testing.T) {
	root := threads.NewRoot("test")
	defer func() { root.Stop(); root.Join() }()
	p, _ := pool.New(root, pool.Config{MinIdle: 1, MaxSessions: 1})
	p.Run(context.Background(), &pool.Request{Script: "true"})
	pid := p.ShellPIDs()[0]
	self0 := cpuTicks(os.Getpid())
	c0 := cpuTicks(pid)
	start := time.Now()
	n := callsN()
	for range n {
		p.Run(context.Background(), &pool.Request{Script: "true"})
	}
	el := time.Since(start)
	c1 := cpuTicks(pid)
	self1 := cpuTicks(os.Getpid())
	t.Logf("per call %v; shell CPU per call %v; go process CPU per call (incl. reaped shells) %v", el/time.Duration(n), time.Duration(c1-c0)*10*time.Millisecond/time.Duration(n), time.Duration(self1-self0)*10*time.Millisecond/time.Duration(n))
}
