package proctest

import (
	"crypto/rand"
	"encoding/hex"
)

// MarkerVar is the environment variable that tags the processes a test
// causes.
const MarkerVar = "MOTHREADS_TEST_MARKER"

// NewMarker returns a fresh random marker value.
func NewMarker() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
