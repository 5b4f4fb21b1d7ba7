//go:build !windows

package daemoncmd

// defaultShell is the --shell default: bash, which gets warm sessions.
const (
	defaultShell = "bash"
	shellUsage   = "shell that runs the sessions (bash 4.4+ for warm sessions)"
)
