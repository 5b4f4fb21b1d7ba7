// Package integration holds black-box tests of the built mothreads and
// mothreadsd binaries (Linux only): TestMain builds both once, with -race
// when the tests run under it, and each test drives them as a user would,
// on a socket of its own, then checks that no process it caused is left.
package integration
