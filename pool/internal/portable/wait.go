//go:build unix

package portable

import (
	"errors"
	"fmt"
	"syscall"
)

// waitShell reaps the session's shell, the pool's child, and keeps it
// running meanwhile: a signal that stops it (`kill -STOP $$` from a call)
// would hang every later call, so the shell is continued and the call in
// progress stopped instead, as `bash -c` would have stopped the script.
// It records the shell's wait status and fires gone.
func (s *Shell) waitShell() {
	pid := s.pid
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			s.mu.Lock()
			s.exit = fmt.Sprintf("wait: %v", err)
			s.mu.Unlock()
			break
		}
		if ws.Stopped() {
			s.mu.Lock()
			call := 0
			if s.cur != nil && s.cur.started.Fired() && !s.cur.ended.Fired() {
				call = s.cur.pid
			}
			s.mu.Unlock()
			syscall.Kill(pid, syscall.SIGCONT)
			if call > 0 {
				syscall.Kill(call, syscall.SIGSTOP)
			}
			s.log.Info("the session's shell was stopped by a signal: continued it, stopped the call instead",
				"signal", ws.StopSignal(), "call_pid", call)
			continue
		}
		s.mu.Lock()
		s.ws, s.reaped = ws, true
		switch {
		case ws.Signaled():
			s.exit = fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
		default:
			s.exit = fmt.Sprintf("exit status %d", ws.ExitStatus())
		}
		s.mu.Unlock()
		break
	}
	s.gone.Go()
}

// signalShell sends sig to the shell if it has not been reaped (its pid
// cannot have been reused before that).
func (s *Shell) signalShell(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.reaped {
		syscall.Kill(s.pid, sig)
	}
}
