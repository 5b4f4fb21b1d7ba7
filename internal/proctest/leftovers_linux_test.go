//go:build linux

package proctest

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestMarkedAndWaitGone: a marked child is found while it lives and not
// after; WaitGone sees its end.
func TestMarkedAndWaitGone(t *testing.T) {
	marker := NewMarker()
	cmd := exec.Command("sleep", "60")
	cmd.Env = append(os.Environ(), MarkerVar+"="+marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pids := Marked(MarkerVar, marker)
	if len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Errorf("Marked = %v, want [%d]", pids, cmd.Process.Pid)
	}
	if WaitGone(cmd.Process.Pid, 0) {
		t.Error("WaitGone says a live process is gone")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !WaitGone(cmd.Process.Pid, time.Minute) {
		t.Error("WaitGone missed the end of a reaped process")
	}
	if pids := Marked(MarkerVar, marker); len(pids) != 0 {
		t.Errorf("Marked after the end = %v", pids)
	}
	AssertNoLeftovers(t, MarkerVar, marker, time.Second)
}
