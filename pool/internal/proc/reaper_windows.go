package proc

import (
	"fmt"
	"log/slog"
)

// Reaper is the pool's lifeline on Windows (C8): a Job Object that every
// process the pool starts is put in before it runs. Only the pool's process
// holds a handle to it, and it is kill-on-close, so when that process exits,
// however it exits (kill -9 included: TerminateProcess), Windows terminates
// everything in the job and in the jobs nested in it, grandchildren and
// processes whose parent is gone included. Only a process created outside
// the job on a program's behalf (by a service, the task scheduler, WMI)
// escapes.
type Reaper struct {
	job *Job
}

// StartReaper makes the pool's Job Object; it starts no process.
func StartReaper(sp *Spawner, shell string, log *slog.Logger) (*Reaper, error) {
	j, err := NewJob()
	if err != nil {
		return nil, fmt.Errorf("reaper: %w", err)
	}
	return &Reaper{job: j}, nil
}

// Close terminates whatever is left in the pool's job and closes it.
func (r *Reaper) Close() {
	if r == nil {
		return
	}
	r.job.Terminate()
	r.job.Close()
}

// Job returns the pool's Job Object, which every process the pool starts
// is put in before it runs (nil for a nil Reaper).
func (r *Reaper) Job() *Job {
	if r == nil {
		return nil
	}
	return r.job
}
