package proc

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// startInJob starts a long ping and puts it in j. (The cmd.exe driver
// starts its processes suspended so that nothing runs outside the job; a
// single ping starts nothing, so this test need not.)
func startInJob(t *testing.T, j *Job) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("ping", "-n", "60", "127.0.0.1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid))
	if err != nil {
		cmd.Process.Kill()
		<-exited
		t.Fatal(err)
	}
	defer windows.CloseHandle(h)
	if err := j.Assign(h); err != nil {
		cmd.Process.Kill()
		<-exited
		t.Fatal(err)
	}
	return cmd, exited
}

// waitExit waits (with a bound) until the process has exited, and checks
// its exit code unless code is negative.
func waitExit(t *testing.T, what string, cmd *exec.Cmd, exited <-chan struct{}, code int) {
	t.Helper()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("%s: the process still ran", what)
	}
	if have := cmd.ProcessState.ExitCode(); code >= 0 && have != code {
		t.Errorf("%s: exit code %d, want %d", what, have, code)
	}
}

// Signal: the signals that end a process terminate the job; others do
// nothing. Active counts the job's processes, and WaitEmpty sees it empty.
func TestJobSignal(t *testing.T) {
	j, err := NewJob()
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cmd, exited := startInJob(t, j)
	if n := j.Active(); n != 1 {
		t.Errorf("Active = %d, want 1", n)
	}
	j.Signal(syscall.SIGTRAP)
	if n := j.Active(); n != 1 {
		t.Errorf("after SIGTRAP: Active = %d, want 1 (not a signal that ends a process)", n)
	}
	j.Signal(syscall.SIGTERM)
	waitExit(t, "SIGTERM", cmd, exited, KilledExitCode)
	if !j.WaitEmpty(10 * time.Second) {
		t.Errorf("WaitEmpty: the job still has %d processes", j.Active())
	}
}

// Close: the job is kill-on-close, so closing its last handle ends what is
// in it (how the pool's job takes every session along when the daemon
// dies); a closed job takes no process.
func TestJobKillOnClose(t *testing.T) {
	j, err := NewJob()
	if err != nil {
		t.Fatal(err)
	}
	cmd, exited := startInJob(t, j)
	j.Close()
	waitExit(t, "Close", cmd, exited, -1) // the exit code is Windows' choice here
	if err := j.Assign(windows.CurrentProcess()); err == nil {
		t.Error("Assign on a closed job succeeded")
	}
	if n := j.Active(); n != 0 {
		t.Errorf("Active of a closed job = %d, want 0", n)
	}
	j.Terminate() // harmless once closed
}
