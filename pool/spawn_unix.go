//go:build unix

package pool

import (
	"os/exec"
	"runtime"
	"sync"
)

// spawner starts processes from one goroutine locked to its OS thread for
// the pool's lifetime. Linux delivers a child's parent-death signal
// (Pdeathsig) when the *thread* that forked it exits, and Go may retire
// threads; forking from a thread that lives as long as the pool makes the
// signal mean what it says: the pool (or the whole process) is gone.
type spawner struct {
	reqs chan spawnReq
	done chan struct{}
	once sync.Once
}

type spawnReq struct {
	start func() error
	err   chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spawner) loop() {
	runtime.LockOSThread()
	// Never unlocked: when this goroutine returns, its thread exits, which
	// delivers Pdeathsig to anything it started that is still alive.
	defer close(s.done)
	for r := range s.reqs {
		r.err <- r.start()
	}
}

// start runs cmd.Start on the spawner's thread.
func (s *spawner) start(cmd *exec.Cmd) error {
	return s.do(cmd.Start)
}

func (s *spawner) do(start func() error) error {
	r := spawnReq{start: start, err: make(chan error, 1)}
	s.reqs <- r
	return <-r.err
}

// stop ends the spawner; call it only after everything it started is gone.
func (s *spawner) stop() {
	s.once.Do(func() { close(s.reqs) })
	<-s.done
}
