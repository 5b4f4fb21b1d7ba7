//go:build unix

package proc

import (
	"os/exec"
	"runtime"
	"sync"
)

// Spawner starts processes from one goroutine locked to its OS thread for
// its lifetime. Linux delivers a child's parent-death signal (Pdeathsig)
// when the *thread* that forked it exits, and Go may retire threads;
// forking from a thread that lives as long as the pool makes the signal
// mean what it says: the pool (or the whole process) is gone.
type Spawner struct {
	reqs chan spawnReq
	done chan struct{}
	once sync.Once
}

type spawnReq struct {
	start func() error
	err   chan error
}

// NewSpawner starts a spawner on a goroutine of its own; Stop ends it.
func NewSpawner() *Spawner {
	return NewSpawnerOn(func(loop func()) { go loop() })
}

// NewSpawnerOn starts a spawner whose loop run starts (and must run at
// once, on a goroutine of its own, until it returns): the pool runs it as
// a named Thread. Stop ends the loop.
func NewSpawnerOn(run func(loop func())) *Spawner {
	s := &Spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	run(s.loop)
	return s
}

func (s *Spawner) loop() {
	runtime.LockOSThread()
	// Never unlocked: when this goroutine returns, its thread exits, which
	// delivers Pdeathsig to anything it started that is still alive.
	defer close(s.done)
	for r := range s.reqs {
		r.err <- r.start()
	}
}

// Start runs cmd.Start on the spawner's thread.
func (s *Spawner) Start(cmd *exec.Cmd) error {
	return s.do(cmd.Start)
}

func (s *Spawner) do(start func() error) error {
	r := spawnReq{start: start, err: make(chan error, 1)}
	s.reqs <- r
	return <-r.err
}

// Stop ends the spawner; call it only after everything it started is gone
// (their parent-death signal fires when its thread exits).
func (s *Spawner) Stop() {
	s.once.Do(func() { close(s.reqs) })
	<-s.done
}
