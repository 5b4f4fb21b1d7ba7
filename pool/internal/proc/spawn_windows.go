package proc

import "os/exec"

// Spawner starts processes. Windows has no parent-death signal tied to the
// starting thread (the Job Objects do that work), so it is trivial.
type Spawner struct{}

// NewSpawner returns a spawner.
func NewSpawner() *Spawner { return &Spawner{} }

// NewSpawnerOn returns a spawner; it has no loop to run.
func NewSpawnerOn(func(loop func())) *Spawner { return &Spawner{} }

// Start starts cmd.
func (s *Spawner) Start(cmd *exec.Cmd) error { return cmd.Start() }

// Stop does nothing.
func (s *Spawner) Stop() {}
