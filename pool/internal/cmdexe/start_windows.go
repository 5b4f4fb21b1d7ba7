package cmdexe

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/mothreads/mothreads/pool/internal/driver"
	"github.com/mothreads/mothreads/pool/internal/proc"
)

// startInJob starts cmd suspended, puts it in the pool's job and then in j
// (which nests j in the pool's job), and only then lets it run: there is no
// moment at which the process, or anything it starts, runs outside the jobs.
// If that fails, the process is killed before it ever ran.
func startInJob(spec *driver.Spec, cmd *exec.Cmd, j *proc.Job) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// CREATE_NO_WINDOW: a console of its own, without a window, whether or
	// not the daemon has one; so a command cannot read the daemon's
	// keyboard, change its console's title, or pop up a window.
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED | windows.CREATE_NO_WINDOW
	if err := spec.Spawner.Start(cmd); err != nil {
		return err
	}
	if err := adopt(spec.Reaper, j, uint32(cmd.Process.Pid)); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return err
	}
	return nil
}

// adopt puts the suspended process pid in the pool's job and in j, then
// resumes it. os/exec keeps the process handle to itself, so a handle is
// opened by pid: the pid is not reused while os/exec holds its handle.
func adopt(r *proc.Reaper, j *proc.Job, pid uint32) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		return fmt.Errorf("open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	if r != nil {
		if err := r.Job().Assign(h); err != nil {
			return fmt.Errorf("pool job: %w", err)
		}
	}
	if err := j.Assign(h); err != nil {
		return fmt.Errorf("call job: %w", err)
	}
	return resumeProcess(pid)
}

// resumeProcess resumes the threads of a process created suspended, that is
// its main thread, the only one it has yet. os/exec closes the thread handle
// CreateProcess returned, so the thread is found in a snapshot of the
// system's threads (documented API; it costs a little more than the
// undocumented NtResumeProcess).
func resumeProcess(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("thread snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, oerr := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if oerr != nil {
			return fmt.Errorf("open thread %d of process %d: %w", te.ThreadID, pid, oerr)
		}
		_, rerr := windows.ResumeThread(th)
		windows.CloseHandle(th)
		if rerr != nil {
			return fmt.Errorf("resume thread %d of process %d: %w", te.ThreadID, pid, rerr)
		}
		resumed++
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("thread snapshot: %w", err)
	}
	if resumed == 0 {
		return fmt.Errorf("process %d has no thread to resume", pid)
	}
	return nil
}
