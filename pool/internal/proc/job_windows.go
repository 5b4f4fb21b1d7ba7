package proc

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// KilledExitCode is the exit code of the processes of a Job Object that the
// pool terminates (a timeout, a cancel, a signal, leftovers at the end of a
// call). Windows has no death by signal: Result.Signal stays 0, and
// Result.TimedOut / Cancelled say why the command ended.
const KilledExitCode = 1

// jobLimits: every process in the job dies when the job's last handle
// closes, and a process that crashes dies at once instead of waiting on an
// error-report dialog. Breaking away is not allowed.
const jobLimits = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | windows.JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION

// Job is a Windows Job Object. Every process put in it, and every process
// they start, is in it; terminating the job terminates them all, and so
// does closing its last handle. Its handle is not inheritable, so only the
// pool holds it.
type Job struct {
	mu sync.Mutex
	h  windows.Handle // 0 once closed
}

// NewJob creates a Job Object with jobLimits.
func NewJob() (*Job, error) {
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
	return &Job{h: h}, nil
}

// Assign puts a process in the job. A process already in a job can be put in
// an empty job, which then nests in the first one: a call's job nests in the
// pool's this way (Windows 8 or newer).
func (j *Job) Assign(process windows.Handle) error {
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

// Terminate ends every process in the job (and in the jobs nested in it). It
// only starts their termination; Active tells when they are gone.
func (j *Job) Terminate() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.h != 0 {
		windows.TerminateJobObject(j.h, KilledExitCode)
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

// Active returns how many processes are in the job, or -1 if that cannot be
// known.
func (j *Job) Active() int {
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

// WaitEmpty waits until the job has no process left, or d has passed, or
// the job cannot be queried.
func (j *Job) WaitEmpty(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if n := j.Active(); n <= 0 {
			return n == 0
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Close closes the handle; whatever is still in the job dies with it.
func (j *Job) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.h != 0 {
		windows.CloseHandle(j.h)
		j.h = 0
	}
}

// Signal is a call's kill on Windows (a supervisor's kill), where there are no
// signals: the signals that end a process by default terminate the call's
// whole job at once, with KilledExitCode. There is no polite first step:
// SIGTERM is as final as SIGKILL, so the kill grace does not apply. Other
// signals are ignored.
func (j *Job) Signal(sig syscall.Signal) {
	switch sig {
	case syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGABRT,
		syscall.SIGKILL, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM:
		j.Terminate()
	}
}
