//go:build linux

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
)

// BenchmarkCLIProcess compares, in turns, the whole CLI as a process
// (`mothreads exec -c true` against a warm daemon: start-up, dial, call,
// exit) with `bash -c true` as a process, and reports both medians, the
// CPU time of each process, and the slowdown. Target (issue 10): at most
// 2x. Under -race the binaries are race-enabled and the figures mean
// little.
func BenchmarkCLIProcess(b *testing.B) {
	socket := benchDaemon(b, "--min-idle", "2")
	cli := []string{bin.mothreads, "exec", "--socket", socket, "--no-autostart", "-c", "true"}
	timeProcess(b, cli...) // the daemon's first call

	var cliWall, cliCPU, bashWall, bashCPU []time.Duration
	for b.Loop() {
		w, c := timeProcess(b, cli...)
		cliWall, cliCPU = append(cliWall, w), append(cliCPU, c)
		w, c = timeProcess(b, "bash", "-c", "true")
		bashWall, bashCPU = append(bashWall, w), append(bashCPU, c)
	}
	med := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	b.ReportMetric(float64(med(cliWall).Microseconds()), "cli-p50-µs")
	b.ReportMetric(float64(med(bashWall).Microseconds()), "bash-c-p50-µs")
	b.ReportMetric(float64(med(cliCPU).Microseconds()), "cli-cpu-µs")
	b.ReportMetric(float64(med(bashCPU).Microseconds()), "bash-c-cpu-µs")
	b.ReportMetric(float64(med(cliWall))/float64(med(bashWall)), "slowdown-p50")
}

// timeProcess runs argv as a process and returns its wall and CPU time.
func timeProcess(b *testing.B, argv ...string) (wall, cpu time.Duration) {
	cmd := exec.Command(argv[0], argv[1:]...)
	t := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	wall = time.Since(t)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return wall, time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDaemon starts mothreadsd with args on a socket of its own for the
// length of the benchmark, waits until it serves, and returns the socket.
// The daemon must exit cleanly on SIGTERM at the end.
func benchDaemon(b *testing.B, args ...string) string {
	b.Helper()
	dir, err := os.MkdirTemp("", "mtb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "d.sock")
	d := exec.Command(bin.mothreadsd, append([]string{"--socket", socket}, args...)...)
	logs := new(proctest.Buffer)
	d.Stderr = logs
	if err := d.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = d.Wait(); close(done) }()
	b.Cleanup(func() {
		d.Process.Signal(syscall.SIGTERM)
		<-done
		if waitErr != nil {
			b.Errorf("mothreadsd: %v\n%s", waitErr, logs)
		}
	})
	if !logs.WaitFor("msg=serving", daemonStartBound, done) {
		b.Fatalf("the daemon did not serve:\n%s", logs)
	}
	return socket
}
