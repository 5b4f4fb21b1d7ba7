package cmdexe

// Tests of the cmd.exe driver's Job Objects. They need Windows; they
// compile everywhere with GOOS=windows go vet, but have not run yet (see
// the package doc).

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
)

// C8: closing the pool's job kills what is in it, nested jobs included.
func TestCmdWindowsJobKillOnClose(t *testing.T) {
	r, err := proc.StartReaper(proc.NewSpawner(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := &driver.Spec{Spawner: proc.NewSpawner(), Reaper: r}
	j, err := proc.NewJob()
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cmd := exec.Command("ping", "-n", "60", "127.0.0.1")
	if err := startInJob(spec, cmd, j); err != nil {
		t.Fatal(err)
	}
	if n := j.Active(); n != 1 {
		t.Errorf("call job: %d active processes, want 1", n)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	r.Close()
	select {
	case <-done:
		if cmd.ProcessState.ExitCode() != proc.KilledExitCode {
			t.Errorf("exit code %d, want %d", cmd.ProcessState.ExitCode(), proc.KilledExitCode)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("closing the pool's job did not kill the process in a nested job")
	}
	j.Signal(syscall.SIGTERM) // harmless on an empty job
}
