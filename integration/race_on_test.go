//go:build race

package integration

// raceEnabled: the tests run under -race, so the binaries are built with it.
const raceEnabled = true
