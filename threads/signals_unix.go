//go:build unix

package threads

import (
	"os"
	"syscall"
)

var (
	shutdownSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	dumpSignals     = []os.Signal{syscall.SIGUSR1}
)
