//go:build !linux

package proc

import (
	"errors"
	"os"
)

// readNow is not available here: an abandoned pump stops at once.
func readNow(*os.File, []byte) (int, error) {
	return 0, errors.New("proc: reading without waiting is not supported on this platform")
}

// pipeCapacity is 0 here: an abandoned pump reads nothing more.
func pipeCapacity(*os.File) int { return 0 }
