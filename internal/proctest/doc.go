// Package proctest holds the test helpers that the pool, daemon and
// integration tests share, in the manner of tailscale's tstest: a normal
// package (tests of several packages import it), never linked into a
// binary.
//
// Its idea in one sentence: let a test tag the processes it causes and
// prove that none of them outlived it (C8), and collect their output safely
// while waiting for a given piece of it.
//
//   - MarkerVar and NewMarker tag processes: a test puts MarkerVar=marker
//     in the environment of what it starts, and every descendant inherits
//     it, whatever its parent becomes.
//   - Marked lists the live processes with a given NAME=VALUE in their
//     environment, WaitGone waits for one to exit through a pidfd, and
//     AssertNoLeftovers fails a test for every marked process that does
//     not exit within a bound (Linux: they read /proc).
//   - Buffer is a concurrency-safe output buffer a test can wait on.
//
// It imports nothing of the module.
package proctest
