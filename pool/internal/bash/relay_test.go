//go:build linux

package bash

import (
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool/internal/proc"
	"github.com/mothreads/mothreads/signals"
)

// waitingShell starts a stand-in for a session shell between calls (bash
// asleep in wait) and waits until proc.Quiet says so; the test's cleanup
// kills it.
func waitingShell(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-c", "sleep 600 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pid, syscall.SIGKILL)
		cmd.Wait()
	})
	waitUntil(t, "the shell sleeps in wait", func() bool { return proc.Quiet(pid) })
	return pid
}

// waitUntil polls cond, which no event reports (a process's state in
// /proc), for at most ten seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll(10*time.Second, func() (bool, bool) { return cond(), false }) {
		t.Fatalf("%s: not the case after 10s", what)
	}
}

// stopShell stops pid, as a shell that the scheduler has not run yet is
// not back in wait either, and waits until it is stopped.
func stopShell(t *testing.T, pid int) {
	t.Helper()
	syscall.Kill(pid, syscall.SIGSTOP)
	waitUntil(t, "the shell is stopped", func() bool { return proc.Stat(pid).State == "T" })
}

// relayRun is a relay of a stand-in shell (waitingShell) with the session's
// parts a test looks at: its gone signal, its pending work, and the
// reasons it was retired for.
type relayRun struct {
	*sigRelay
	pid     int
	gone    signals.Signal
	pending sync.WaitGroup
	retired chan string
}

// stoppedShellRelay returns the relay of a stand-in shell that has been
// stopped (see stopShell).
func stoppedShellRelay(t *testing.T) *relayRun {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	rr := &relayRun{pid: waitingShell(t), retired: make(chan string, 1)}
	rr.sigRelay, err = newSigRelay(r, func() int { return 0 }, slog.New(slog.DiscardHandler), &rr.gone, &rr.pending,
		func(why string) { rr.retired <- why })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { rr.run(); close(done) }()
	t.Cleanup(func() { rr.close(); <-done })
	stopShell(t, rr.pid)
	return rr
}

// TestFenceKeepsTheNextCallWaitingUntilTheShellSettles: a shell that is
// not back in wait by its call's end (here stopped; on a loaded machine,
// not yet scheduled) has not run its traps: the next call waits until it
// has, instead of becoming the target of a signal sent during the last
// call (CI, once: `kill -USR1 $$` then killed the next call).
func TestFenceKeepsTheNextCallWaitingUntilTheShellSettles(t *testing.T) {
	rr := stoppedShellRelay(t)
	rr.fence(rr.pid, 10*time.Millisecond)
	if rr.awaitSettled(signals.And()) {
		t.Fatal("the relay settled while the shell was stopped")
	}
	syscall.Kill(rr.pid, syscall.SIGCONT)
	if !rr.awaitSettled(signals.New()) {
		t.Fatal("awaitSettled returned false without a cancel")
	}
	if !proc.Quiet(rr.pid) {
		t.Error("settled before the shell was back in wait")
	}
	rr.pending.Wait()
	if len(rr.retired) != 0 {
		t.Errorf("retired a shell that settled: %s", <-rr.retired)
	}
	// Settled shells do not hold the next call up.
	rr.fence(rr.pid, 10*time.Millisecond)
	if !rr.awaitSettled(signals.And()) {
		t.Error("a settled shell keeps the next call waiting")
	}
}

// TestFenceGivesUpOnAShellThatNeverSettles: a shell still stopped after
// the settle limit is retired, and the next call stops waiting for it.
func TestFenceGivesUpOnAShellThatNeverSettles(t *testing.T) {
	rr := stoppedShellRelay(t)
	rr.settleLimit = 50 * time.Millisecond
	rr.fence(rr.pid, 10*time.Millisecond)
	if !rr.awaitSettled(signals.New()) {
		t.Fatal("awaitSettled returned false without a cancel")
	}
	rr.pending.Wait()
	select {
	case why := <-rr.retired:
		if !strings.Contains(why, "did not settle") {
			t.Errorf("retire(%q)", why)
		}
	default:
		t.Error("a shell stopped past the settle limit was not retired")
	}
}

// TestFenceLeavesAGoneShellAlone: a shell that dies while unsettled ends
// the wait without being retired: its session is replaced anyway.
func TestFenceLeavesAGoneShellAlone(t *testing.T) {
	rr := stoppedShellRelay(t)
	rr.fence(rr.pid, 10*time.Millisecond)
	rr.gone.Go()
	rr.pending.Wait() // well before the settle limit
	if len(rr.retired) != 0 {
		t.Errorf("retired a gone shell: %s", <-rr.retired)
	}
}
