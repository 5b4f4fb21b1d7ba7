//go:build windows

package pool

import (
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// killedExitCode is the exit code of the processes of a Job Object that the
// pool terminates (a timeout, a cancel, a signal, leftovers at the end of a
// call). Windows has no death by signal: Result.Signal stays 0, and
// Result.TimedOut / Cancelled say why the command ended.
const killedExitCode = 1

// jobLimits: every process in the job dies when the job's last handle
// closes, and a process that crashes dies at once instead of waiting on an
// error-report dialog. Breaking away is not allowed.
const jobLimits = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | windows.JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION

// job is a Windows Job Object. Every process put in it, and every process
// they start, is in it; terminating the job terminates them all, and so
// does closing its last handle. Its handle is not inheritable, so only the
// pool holds it.
type job struct {
	mu sync.Mutex
	h  windows.Handle // 0 once closed
}

func newJob() (*job, error) {
	h, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create job object: %w", err)
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = jobLimits
	if _, err := windows.SetInformationJobObject(h, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("set job object limits: %w", err)
	}
	return &job{h: h}, nil
}

// assign puts a process in the job. A process already in a job can be put in
// an empty job, which then nests in the first one: a call's job nests in the
// pool's this way (Windows 8 or newer).
func (j *job) assign(process windows.Handle) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.h == 0 {
		return errors.New("job object closed")
	}
	if err := windows.AssignProcessToJobObject(j.h, process); err != nil {
		return fmt.Errorf("assign to job object: %w", err)
	}
	return nil
}

// terminate ends every process in the job (and in the jobs nested in it). It
// only starts their termination; active tells when they are gone.
func (j *job) terminate() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.h != 0 {
		windows.TerminateJobObject(j.h, killedExitCode)
	}
}

// jobAccounting is JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, which x/sys does
// not define.
type jobAccounting struct {
	TotalUserTime, TotalKernelTime                       int64
	ThisPeriodTotalUserTime, ThisPeriodTotalKernelTime   int64
	TotalPageFaultCount, TotalProcesses, ActiveProcesses uint32
	TotalTerminatedProcesses                             uint32
}

// active returns how many processes are in the job, or -1 if that cannot be
// known.
func (j *job) active() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.h == 0 {
		return 0
	}
	var info jobAccounting
	if err := windows.QueryInformationJobObject(j.h, windows.JobObjectBasicAccountingInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil); err != nil {
		return -1
	}
	return int(info.ActiveProcesses)
}

// waitEmpty waits until the job has no process left, or d has passed, or
// the job cannot be queried.
func (j *job) waitEmpty(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if n := j.active(); n <= 0 {
			return n == 0
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// close closes the handle; whatever is still in the job dies with it.
func (j *job) close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.h != 0 {
		windows.CloseHandle(j.h)
		j.h = 0
	}
}

// signal is a call's kill on Windows (supervisor.kill), where there are no
// signals: the signals that end a process by default terminate the call's
// whole job at once, with killedExitCode. There is no polite first step:
// SIGTERM is as final as SIGKILL, so the kill grace does not apply. Other
// signals are ignored.
func (j *job) signal(sig syscall.Signal) {
	switch sig {
	case syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGABRT,
		syscall.SIGKILL, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM:
		j.terminate()
	}
}

// signalGroup is the common code's default way to signal a call's process
// group (supervisor.signal without a kill). Windows has no process groups:
// the cmd.exe driver always gives its supervisors a kill that acts on the
// call's Job Object, so this is not reached; it signals nothing and says so.
func signalGroup(pgid int, sig syscall.Signal) bool { return false }

// spawner starts processes. Windows has no parent-death signal tied to the
// starting thread (the Job Objects do that work), so it is trivial.
type spawner struct{}

func newSpawner() *spawner { return &spawner{} }

func (s *spawner) start(cmd *exec.Cmd) error { return cmd.Start() }

func (s *spawner) stop() {}

// reaper is the pool's lifeline on Windows (C8): a Job Object that every
// process the pool starts is put in before it runs. Only the pool's process
// holds a handle to it, and it is kill-on-close, so when that process exits,
// however it exits (kill -9 included: TerminateProcess), Windows terminates
// everything in the job and in the jobs nested in it, grandchildren and
// processes whose parent is gone included. Only a process created outside
// the job on a program's behalf (by a service, the task scheduler, WMI)
// escapes.
type reaper struct {
	job *job
}

func startReaper(sp *spawner, shell string, log *slog.Logger) (*reaper, error) {
	j, err := newJob()
	if err != nil {
		return nil, fmt.Errorf("reaper: %w", err)
	}
	return &reaper{job: j}, nil
}

// close terminates whatever is left in the pool's job and closes it.
func (r *reaper) close() {
	if r == nil {
		return
	}
	r.job.terminate()
	r.job.close()
}

// startInJob starts cmd suspended, puts it in the pool's job and then in j
// (which nests j in the pool's job), and only then lets it run: there is no
// moment at which the process, or anything it starts, runs outside the jobs.
// If that fails, the process is killed before it ever ran.
func startInJob(spec *shellSpec, cmd *exec.Cmd, j *job) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// CREATE_NO_WINDOW: a console of its own, without a window, whether or
	// not the daemon has one; so a command cannot read the daemon's
	// keyboard, change its console's title, or pop up a window.
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED | windows.CREATE_NO_WINDOW
	if err := spec.spawner.start(cmd); err != nil {
		return err
	}
	if err := adopt(spec.reaper, j, uint32(cmd.Process.Pid)); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return err
	}
	return nil
}

// adopt puts the suspended process pid in the pool's job and in j, then
// resumes it. os/exec keeps the process handle to itself, so a handle is
// opened by pid: the pid is not reused while os/exec holds its handle.
func adopt(r *reaper, j *job, pid uint32) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		return fmt.Errorf("open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	if r != nil {
		if err := r.job.assign(h); err != nil {
			return fmt.Errorf("pool job: %w", err)
		}
	}
	if err := j.assign(h); err != nil {
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
