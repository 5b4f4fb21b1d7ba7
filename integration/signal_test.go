//go:build linux

package integration

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/mothreads/mothreads/internal/proctest"
)

// startInterruptible starts `mothreads exec` on a bash that runs trap
// (its INT handler) and then waits in a loop, with callVar=<marker> in the
// command's environment so that the test can find every process of the
// call. It returns once the command has printed "ready".
func startInterruptible(t *testing.T, e *env, trap string) (cmd *exec.Cmd, lines *lineReader, callMarker string) {
	t.Helper()
	callMarker = proctest.NewMarker()
	script := trap + `; echo ready; while :; do sleep 30 & wait $!; done`
	cmd = e.cli([]string{"exec", "--env", "MTI_CALL=" + callMarker, "--", "bash", "-c", script})
	lines = startReading(t, cmd)
	lines.expect(t, "ready")
	return cmd, lines, callMarker
}

// waitExit waits for the CLI and returns its exit status.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode()
}

func TestCtrlCIsForwardedToTheCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	cmd, lines, call := startInterruptible(t, e, `trap 'echo got INT; exit 7' INT`)
	cmd.Process.Signal(syscall.SIGINT)
	lines.expect(t, "got INT")
	if code := waitExit(t, cmd); code != 7 {
		t.Errorf("exit status %d, want the command's 7", code)
	}
	proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)
}

func TestSecondCtrlCCancelsTheCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	cmd, lines, call := startInterruptible(t, e, `trap 'echo got INT' INT`)
	cmd.Process.Signal(syscall.SIGINT)
	lines.expect(t, "got INT") // the command survived the first
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd); code != 128+int(syscall.SIGINT) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGINT))
	}
	proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)
}

func TestUntrappedCtrlCKillsTheCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	cmd, _, call := startInterruptible(t, e, `:`)
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd); code != 128+int(syscall.SIGINT) {
		t.Errorf("exit status %d, want %d (the command died by SIGINT)", code, 128+int(syscall.SIGINT))
	}
	proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)
}

func TestTermAndHupCancelTheCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(strings.ToUpper(sig.String()), func(t *testing.T) {
			cmd, _, call := startInterruptible(t, e, `trap 'echo got INT' INT`)
			cmd.Process.Signal(sig)
			if code := waitExit(t, cmd); code != 128+int(sig) {
				t.Errorf("exit status %d, want %d", code, 128+int(sig))
			}
			proctest.AssertNoLeftovers(t, "MTI_CALL", call, dieBound)
		})
	}
}
