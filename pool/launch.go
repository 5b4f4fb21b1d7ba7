package pool

import "github.com/mothreads/mothreads/pool/internal/proc"

// Launch must be called first thing in the main function of a program that
// is a pool's Config.Launcher (and in TestMain of a test binary that is).
// When the pool started the process to launch a session's shell, Launch
// prepares the process (see Config.Launcher) and replaces it with the shell,
// and never returns; otherwise it returns at once and does nothing.
func Launch() { proc.Launch() }
