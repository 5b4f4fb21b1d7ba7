//go:build race

package signals_test

const raceEnabled = true
