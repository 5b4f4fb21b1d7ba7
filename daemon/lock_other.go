//go:build !unix || aix || zos

package daemon

import "os"

// lockSocket does nothing where there is no flock: the connect check of
// clearStale is then the only guard against a second daemon.
func lockSocket(string) (*os.File, error) { return nil, nil }
