//go:build linux

package pool_test

import "os"

// testHelper returns the helper the test binary was re-executed to run, if
// any.
func testHelper() func() {
	if os.Getenv(crashHelperEnv) != "" {
		return crashHelper
	}
	return nil
}
