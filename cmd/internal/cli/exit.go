package cli

// Exit statuses of mothreads, as DESIGN.md's External interface fixes them
// (and 127, as env(1) and shells use it).
const (
	// ExitTimeout: the command was killed on its timeout.
	ExitTimeout = 124
	// ExitFailed: mothreads itself failed (no daemon, bad flag, rejected
	// request); the reason is on stderr.
	ExitFailed = 125
	// ExitNotFound: the command name resolved to nothing in the session.
	ExitNotFound = 127
	// ExitSignal plus N: the command died by signal N (or mothreads was
	// interrupted by signal N and cancelled the call).
	ExitSignal = 128
)
