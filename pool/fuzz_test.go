//go:build linux

package pool_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mothreads/mothreads/pool"
)

// octal writes b as a printf format that reproduces it exactly, whatever it
// holds (NUL, newlines, '%', '\\', quotes, invalid UTF-8).
func octal(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, "\\%03o", c)
	}
	return s.String()
}

// FuzzFraming: scripts that print arbitrary bytes to stdout and stderr, in
// several pieces, and exit with an arbitrary status. The output and the
// status must come back exact, and nothing the command prints, including
// text that imitates the protocol, may disturb the session. pieces also
// picks where the script runs: an isolated call (the pre-forked child), a
// sticky session (the session's own shell, whose status lines differ), or
// `bash -c` in argv form (spawned directly, without the protocol).
func FuzzFraming(f *testing.F) {
	f.Add([]byte("hello\n"), []byte("err"), uint8(0), uint8(1))
	f.Add([]byte("done 0\nexit 1\nready 2 3\n"), []byte("rc 1 0\n"), uint8(3), uint8(2))
	f.Add([]byte{0, 0xff, '\n', '%', '\\'}, []byte{}, uint8(130), uint8(3))
	f.Add([]byte("00000007000010000011000012000013000014\n"), []byte("init 0\n"), uint8(255), uint8(1))
	f.Add([]byte("start 1\ndone 1 0\n"), []byte("fail 1 cwd\n"), uint8(7), uint8(5))
	f.Add([]byte("rc 1 143\n"), []byte{'\n', 0}, uint8(129), uint8(10))
	// One pool for all inputs: starting one per input would test the start,
	// not the framing.
	p := testPool(f, pool.Config{MinIdle: 2})
	f.Fuzz(func(t *testing.T, out, errb []byte, code, pieces uint8) {
		n := int(pieces%4) + 1
		var script strings.Builder
		for i := range n {
			lo, hi := len(out)*i/n, len(out)*(i+1)/n
			elo, ehi := len(errb)*i/n, len(errb)*(i+1)/n
			fmt.Fprintf(&script, "printf '%s'; printf '%s' >&2\n", octal(out[lo:hi]), octal(errb[elo:ehi]))
		}
		var req pool.Request
		switch (pieces / 4) % 3 {
		case 0:
			fmt.Fprintf(&script, "exit %d", code)
			req = pool.Request{Script: script.String()}
		case 1: // exit would end the sticky shell: set the status instead
			fmt.Fprintf(&script, "(exit %d)", code)
			req = pool.Request{Script: script.String(), Session: "fuzz"}
		default:
			fmt.Fprintf(&script, "exit %d", code)
			req = pool.Request{Argv: []string{"bash", "-c", script.String()}}
		}
		o := run(t, p, req)
		if o.stdout != string(out) || o.stderr != string(errb) || o.ExitCode != int(code) || o.Signal != 0 {
			t.Fatalf("%+v: stdout %q (want %q), stderr %q (want %q), result %v (want exit %d)",
				req, o.stdout, out, o.stderr, errb, o.Result, code)
		}
	})
}
