//go:build linux

package pool_test

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mothreads/mothreads/pool"
)

// C2: exact status, including what the seed got wrong.
func TestExitStatus(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	for _, tc := range []struct {
		req  pool.Request
		code int
		sig  syscall.Signal
	}{
		{script("false"), 1, 0}, // the seed reports the wrong code after false
		{script("true"), 0, 0},
		{script("exit 3"), 3, 0},
		{script("exec true"), 0, 0},
		{script("set -e; false; echo not reached"), 1, 0},
		{script("(exit 7)"), 7, 0},
		{script("exit 130"), 130, 0},                         // a code above 128 is still a code...
		{script("kill -TERM $BASHPID"), -1, syscall.SIGTERM}, // ...and this a signal
		{script("kill -KILL $BASHPID"), -1, syscall.SIGKILL},
		{script("sleep 0.01; exit 143"), 143, 0},
		{argv("false"), 1, 0},
		{argv("/bin/false"), 1, 0},
		{argv("sh", "-c", "exit 143"), 143, 0},
		{argv("sh", "-c", "kill -TERM $$"), -1, syscall.SIGTERM},
		{argv("exit", "4"), 4, 0}, // argv runs builtins too
	} {
		t.Logf("running %q%q", tc.req.Argv, tc.req.Script)
		o := run(t, p, tc.req)
		if o.ExitCode != tc.code || o.Signal != tc.sig || o.SessionLost {
			t.Errorf("%q%q: result %v, want code %d signal %d", tc.req.Argv, tc.req.Script, o.Result, tc.code, tc.sig)
		}
	}
}

// C1: output arrives byte for byte, with no trailing newline added, whatever
// it contains, including text that imitates the protocol.
func TestExactOutput(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	o := run(t, p, script("printf foo")) // the seed hangs without a newline
	if o.stdout != "foo" {
		t.Errorf("printf foo: stdout %q", o.stdout)
	}
	o = run(t, p, script(`printf '\xff\xfe\xc3\x28 \x00\x01'`))
	if o.stdout != "\xff\xfe\xc3\x28 \x00\x01" {
		t.Errorf("invalid UTF-8 and NUL: stdout %q", o.stdout)
	}
	o = run(t, p, argv("printf", "%s|%s", "a  b", "$HOME *"))
	if o.stdout != "a  b|$HOME *" {
		t.Errorf("argv is re-split or expanded: %q", o.stdout)
	}
	fake := "done 0\nexit 0\nready 99 1\nrc 1 0\n00000001000000000000000000000000000000\ninit 0\n"
	o = run(t, p, script("printf '%s' '"+fake+"'; printf '%s' '"+fake+"' >&2; exit 5"))
	if o.stdout != fake || o.stderr != fake {
		t.Errorf("framing look-alike altered: stdout %q stderr %q", o.stdout, o.stderr)
	}
	wantExit(t, o, 5)
	wantExit(t, run(t, p, script("echo after")), 0) // the session still works
}

// C1, C13: ten megabytes of binary on each stream at once, stderr first, so
// a reader that took stdout first would deadlock.
func TestLargeBinaryOutputBothStreams(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	dir := t.TempDir()
	a, b := make([]byte, 10<<20), make([]byte, 10<<20)
	for i := range a {
		a[i] = byte(i * 7)
		b[i] = byte(255 - i*13)
	}
	os.WriteFile(filepath.Join(dir, "a"), a, 0o600)
	os.WriteFile(filepath.Join(dir, "b"), b, 0o600)
	var out, errb hashWriter
	out.h, errb.h = sha256.New(), sha256.New()
	r, err := p.Run(t.Context(), &pool.Request{
		Script: "cat b >&2; cat a",
		Dir:    dir,
		Stdout: &out, Stderr: &errb,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 || out.n != len(a) || errb.n != len(b) ||
		!bytes.Equal(out.h.Sum(nil), sum(a)) || !bytes.Equal(errb.h.Sum(nil), sum(b)) {
		t.Fatalf("result %v; stdout %d bytes, stderr %d bytes, or content differs", r, out.n, errb.n)
	}
}

// C4: stdin is /dev/null unless given; a command never reads the session's
// control input.
func TestStdin(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	wantExit(t, run(t, p, script("read x")), 1)
	o := run(t, p, script("cat; echo end"))
	if o.stdout != "end\n" {
		t.Errorf("cat with no stdin: %q", o.stdout)
	}
	o = run(t, p, argv("cat"))
	wantExit(t, o, 0)

	in := strings.Repeat("line of input\n", 100000)
	req := script("wc -c; cat >/dev/null")
	req.Stdin = strings.NewReader(in)
	o = run(t, p, req)
	if strings.TrimSpace(o.stdout) != "1400000" {
		t.Errorf("stdin through the shell: wc says %q", o.stdout)
	}
	req = argv("cat")
	req.Stdin = strings.NewReader("direct input")
	if o = run(t, p, req); o.stdout != "direct input" {
		t.Errorf("stdin of a direct argv call: %q", o.stdout)
	}
	wantExit(t, run(t, p, script("echo still fine")), 0)
}

// C5: the call ends when its main process exits; what it left behind is
// killed before the session serves again, and nothing of it leaks into the
// next call.
func TestLeftoversAreKilled(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, MaxSessions: 1})
	o := run(t, p, script("sleep 300 & echo started"))
	wantExit(t, o, 0)
	o = run(t, p, script("(sleep 0.2; echo late) & echo now"))
	if o.stdout != "now\n" {
		t.Errorf("leftover's late output: %q", o.stdout)
	}
	o = run(t, p, script("echo next"))
	if o.stdout != "next\n" {
		t.Errorf("next call saw %q", o.stdout)
	}
	o = run(t, p, script("sleep 300 >/dev/null 2>&1 </dev/null & disown; echo detached"))
	wantExit(t, o, 0)
	// the leak check (testPool's cleanup) proves the sleeps are gone.
}

// A command that closes its stdout early still has its stderr read to the end.
func TestStdoutClosedEarly(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	o := run(t, p, script("echo one; exec >&-; sleep 0.05; echo two >&2"))
	if o.stdout != "one\n" || o.stderr != "two\n" {
		t.Errorf("stdout %q stderr %q", o.stdout, o.stderr)
	}
}

func TestSyntaxErrorAndBigScript(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	o := run(t, p, script("if then fi"))
	if o.ExitCode != 2 || !strings.Contains(o.stderr, "syntax error") {
		t.Errorf("syntax error: %v stderr %q", o.Result, o.stderr)
	}
	var b strings.Builder
	for i := range 10000 {
		b.WriteString("x" + strings.Repeat("y", 3) + "=" + string(rune('a'+i%26)) + "\n")
	}
	b.WriteString("echo big ok")
	if b.Len() < 100<<10/2 {
		t.Fatalf("script is only %d bytes", b.Len())
	}
	for b.Len() < 100<<10 {
		b.WriteString("\n: padding padding padding padding padding padding")
	}
	o = run(t, p, script(b.String()))
	if o.stdout != "big ok\n" {
		t.Errorf("100 KB script: %v %q %q", o.Result, o.stdout, o.stderr)
	}
}

type hashWriter struct {
	h interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	n int
}

func (w *hashWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return w.h.Write(p)
}

func sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
