package daemoncmd

// defaultShell is the --shell default on Windows: cmd.exe, the only shell
// the pool drives there.
const (
	defaultShell = "cmd.exe"
	shellUsage   = "shell that runs the sessions (cmd.exe only on Windows; run other shells as programs)"
)
