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

func testRelay(t *testing.T) *sigRelay {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	rl, err := newSigRelay(r, func() int { return 0 }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { rl.run(); close(done) }()
	t.Cleanup(func() { rl.close(); <-done })
	return rl
}

// TestFenceKeepsTheNextCallWaitingUntilTheShellSettles: a shell that is
// not back in wait by its call's end (here stopped; on a loaded machine,
// not yet scheduled) has not run its traps: the next call waits until it
// has, instead of becoming the target of a signal sent during the last
// call (CI, once: `kill -USR1 $$` then killed the next call).
func TestFenceKeepsTheNextCallWaitingUntilTheShellSettles(t *testing.T) {
	pid := waitingShell(t)
	rl := testRelay(t)
	var gone signals.Signal
	var wg sync.WaitGroup
	gaveUp := make(chan string, 1)
	stopShell(t, pid)
	rl.fence(pid, 10*time.Millisecond, &gone, &wg, func(why string) { gaveUp <- why })
	if rl.awaitSettled(signals.And()) {
		t.Fatal("the relay settled while the shell was stopped")
	}
	syscall.Kill(pid, syscall.SIGCONT)
	if !rl.awaitSettled(signals.New()) {
		t.Fatal("awaitSettled returned false without a cancel")
	}
	if !proc.Quiet(pid) {
		t.Error("settled before the shell was back in wait")
	}
	wg.Wait()
	select {
	case why := <-gaveUp:
		t.Errorf("gave up on a shell that settled: %s", why)
	default:
	}
	// Settled shells do not hold the next call up.
	rl.fence(pid, 10*time.Millisecond, &gone, &wg, func(why string) { gaveUp <- why })
	if !rl.awaitSettled(signals.And()) {
		t.Error("a settled shell keeps the next call waiting")
	}
}

// TestFenceGivesUpOnAShellThatNeverSettles: a shell still stopped after
// the settle limit is handed to giveUp (the session is retired), and the
// next call stops waiting for it.
func TestFenceGivesUpOnAShellThatNeverSettles(t *testing.T) {
	pid := waitingShell(t)
	rl := testRelay(t)
	rl.settleLimit = 50 * time.Millisecond
	var gone signals.Signal
	var wg sync.WaitGroup
	gaveUp := make(chan string, 1)
	stopShell(t, pid)
	rl.fence(pid, 10*time.Millisecond, &gone, &wg, func(why string) { gaveUp <- why })
	if !rl.awaitSettled(signals.New()) {
		t.Fatal("awaitSettled returned false without a cancel")
	}
	wg.Wait()
	select {
	case why := <-gaveUp:
		if !strings.Contains(why, "did not settle") {
			t.Errorf("giveUp(%q)", why)
		}
	default:
		t.Error("a shell stopped past the settle limit was not given up on")
	}
}

// TestFenceLeavesAGoneShellAlone: a shell that dies while unsettled ends
// the wait without a give-up: its session is replaced anyway.
func TestFenceLeavesAGoneShellAlone(t *testing.T) {
	pid := waitingShell(t)
	rl := testRelay(t)
	var gone signals.Signal
	var wg sync.WaitGroup
	gaveUp := make(chan string, 1)
	stopShell(t, pid)
	rl.fence(pid, 10*time.Millisecond, &gone, &wg, func(why string) { gaveUp <- why })
	gone.Go()
	wg.Wait() // well before the settle limit
	if len(gaveUp) != 0 {
		t.Errorf("gave up on a gone shell: %s", <-gaveUp)
	}
}
