//go:build !unix

package threads

import "os"

var (
	shutdownSignals = []os.Signal{os.Interrupt}
	dumpSignals     []os.Signal
)
