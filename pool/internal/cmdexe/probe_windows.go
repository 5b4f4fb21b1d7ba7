package cmdexe

import (
	"bytes"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"github.com/mothreads/mothreads/signals"
	"golang.org/x/sys/windows"
)

// Probe resolves the configured shell, which must be cmd.exe, and reads its
// version. Its errors start with "config shell: ".
func Probe(name string) (path, version string, err error) {
	path, err = exec.LookPath(name)
	if err != nil {
		return "", "", fmt.Errorf("config shell: %q: %w", name, err)
	}
	if !isCmdName(path) {
		return "", "", fmt.Errorf("config shell: %s is not cmd.exe: on Windows the pool drives cmd.exe only "+
			"(run PowerShell or another shell as a program, in argv form)", path)
	}
	if err := cmdUnsafePath(path); err != nil {
		return "", "", fmt.Errorf("config shell: %w", err)
	}
	cmd := exec.Command(path)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: cmdLine(path, "/d", "ver"), CreationFlags: windows.CREATE_NO_WINDOW}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return "", "", fmt.Errorf("config shell: %s: %w", path, err)
	}
	var done signals.Signal
	go func() {
		err = cmd.Wait()
		done.Go()
	}()
	probe, release := (*signals.Timers)(nil).Till(10 * time.Second)
	defer release()
	if !done.WaitTill(probe) {
		cmd.Process.Kill()
		done.Wait()
		return "", "", fmt.Errorf("config shell: %s did not answer within 10s", path)
	}
	if err != nil {
		return "", "", fmt.Errorf("config shell: %s /c ver failed: %w", path, err)
	}
	return path, parseVer(out.String()), nil
}
