//go:build linux

package integration

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mothreads/mothreads/internal/proctest"
)

// Tests of the differential test's own parts: the corpus and allow-list
// parsers and the process runner.

func TestBashdiffParseCases(t *testing.T) {
	src := `# comment
=== first timeout=3s own-daemon
echo one
echo two

--- stdin
in
--- env
A=1
-HOME
P=@DIR@/x
--- file sub/f mode=0755
#!/bin/sh
--- file raw quoted
"a\x00b"
--- then 2
echo later
=== second merged
--- argv
printf
%s

x
--- reader
head -n 1
=== third quoted
"echo \xff"
--- env quoted
"X=\xfe"
--- then quoted
"echo \xfd"
`
	cases, err := parseCases("t.cases", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 3 {
		t.Fatalf("%d cases, want 3", len(cases))
	}
	c := cases[0]
	want := []bdStep{{script: "echo one\necho two"}, {script: "echo later"}, {script: "echo later"}}
	if diff := cmp.Diff(want, c.steps, cmp.AllowUnexported(bdStep{})); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if c.where != "t.cases:2" || c.timeout != 3*time.Second || !c.ownDaemon || c.merged {
		t.Errorf("header: where %s timeout %v own %v merged %v", c.where, c.timeout, c.ownDaemon, c.merged)
	}
	if !c.hasStdin || string(c.stdin) != "in\n" {
		t.Errorf("stdin %q (%v)", c.stdin, c.hasStdin)
	}
	if diff := cmp.Diff([]string{"A=1", "-HOME", "P=@DIR@/x"}, c.env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	wantFiles := []bdFile{{path: "sub/f", data: []byte("#!/bin/sh\n"), mode: 0o755}, {path: "raw", data: []byte("a\x00b"), mode: 0o644}}
	if diff := cmp.Diff(wantFiles, c.files, cmp.AllowUnexported(bdFile{})); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	c = cases[1]
	if diff := cmp.Diff([]string{"printf", "%s", "", "x"}, c.steps[0].argv); diff != "" || !c.merged || c.reader != "head -n 1" || c.timeout != bdDefaultTimeout {
		t.Errorf("argv case: argv diff %s merged %v reader %q timeout %v", diff, c.merged, c.reader, c.timeout)
	}
	c = cases[2]
	if diff := cmp.Diff([]bdStep{{script: "echo \xff"}, {script: "echo \xfd"}}, c.steps, cmp.AllowUnexported(bdStep{})); diff != "" || len(c.env) != 1 || c.env[0] != "X=\xfe" {
		t.Errorf("quoted case: steps (-want +got):\n%s env %q", diff, c.env)
	}
	env := bdEnviron([]string{"HOME=/h", "A=0", "B=2"}, cases[0].env, "/d")
	if diff := cmp.Diff([]string{"B=2", "A=1", "P=/d/x"}, env); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}

func TestBashdiffParseCasesErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"echo\n", `t.cases:1: only comments and blank lines may come before the first === line, got "echo"`},
		{"--- stdin\n", `"--- stdin" before the first === line`},
		{"=== \n", "without a case name"},
		{"=== Bad\necho\n", `case name "Bad"`},
		{"=== a bogus\necho\n", `unknown option "bogus"`},
		{"=== a timeout=-1s\necho\n", `"timeout=-1s": want a positive duration`},
		{"=== a\n", "no script and no --- argv"},
		{"=== a\necho\n--- nosuch\n", "unknown section --- nosuch"},
		{"=== a\necho\n--- env\nNOVALUE\n", `"NOVALUE": want KEY=VALUE or -KEY`},
		{"=== a\necho\n--- file /abs\nx\n", "want a relative path"},
		{"=== a\necho\n--- file ../up\nx\n", "want a relative path"},
		{"=== a\necho\n--- file f mode=999\nx\n", "want an octal mode"},
		{"=== a\necho\n--- stdin quoted\nnot quoted\n", "not one Go string literal"},
		{"=== a\necho\n--- argv\nls\n", "already has a script"},
		{"=== a\necho\n--- then 0\necho\n", "want a count from 1 to 20"},
		{"=== a\necho\n--- then\n", "--- then: empty script"},
		{"=== a\necho\n--- env noeol\nA=1\n", "an option it does not take"},
		{"=== a quoted\necho\n", "not one Go string literal"},
		{"=== a\n--- argv quoted\nx\n", `line "x" is not a Go string literal`},
		{"=== a\necho\n--- stdin\nx\n--- stdin\ny\n", "a second --- stdin"},
		{"=== a\n--- argv\nx\n--- reader\n\n", "--- reader: empty"},
	} {
		_, err := parseCases("t.cases", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.src, err, tc.want)
		}
	}
}

func TestBashdiffCorpusLoads(t *testing.T) {
	cases, err := loadCorpus(bdDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 200 {
		t.Errorf("the corpus has %d cases, want at least 200", len(cases))
	}
	if _, err := loadAllowList(bdDir + "/allow.txt"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(dir+"/a.cases", []byte("=== x\necho\n"), 0o644)
	os.WriteFile(dir+"/b.cases", []byte("=== x\necho\n"), 0o644)
	if _, err := loadCorpus(dir); err == nil || !strings.Contains(err.Error(), `case "x" is already defined at a.cases:1`) {
		t.Errorf("a duplicate name: error %v", err)
	}
}

func TestBashdiffAllowList(t *testing.T) {
	src := `# comment
cause c1 the first cause
a  status,stdout  c1  reason one
b  all  c1  reason   two
c  stdout,stderr?  c1 r
self  stdout  c1  a case named like a tag: c1 c1
`
	al, err := parseAllowList("allow.txt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if al.causes["c1"] != "the first cause" || len(al.order) != 1 {
		t.Errorf("causes %v order %v", al.causes, al.order)
	}
	a, b, c := al.entries["a"], al.entries["b"], al.entries["c"]
	if a.reason != "reason one" || b.reason != "reason   two" || al.entries["self"].reason != "a case named like a tag: c1 c1" {
		t.Errorf("reasons %q %q %q", a.reason, b.reason, al.entries["self"].reason)
	}
	if a.where != "allow.txt:3" || a.spelling() != "status,stdout" || b.spelling() != "status,stdout,stderr" || c.spelling() != "stdout,stderr?" {
		t.Errorf("parts: %s %s %s at %s", a.spelling(), b.spelling(), c.spelling(), a.where)
	}
	set := func(parts ...string) map[string]bool {
		m := map[string]bool{}
		for _, p := range parts {
			m[p] = true
		}
		return m
	}
	for _, tc := range []struct {
		e    *bdAllow
		got  map[string]bool
		want bool
	}{
		{a, set("status", "stdout"), true},
		{a, set("status"), false},
		{a, set("status", "stdout", "stderr"), false},
		{c, set("stdout"), true},
		{c, set("stdout", "stderr"), true},
		{c, set("stderr"), false},
		{c, set("stdout", "status"), false},
	} {
		if got := tc.e.allows(tc.got); got != tc.want {
			t.Errorf("%s (%s) allows %v: %v, want %v", tc.e.name, tc.e.spelling(), tc.got, got, tc.want)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{"a status c1 r\n", `cause "c1" is not defined above it`},
		{"cause c1 x\na bogus c1 r\n", `part "bogus"`},
		{"cause c1 x\na stdout,stdout c1 r\n", `part "stdout"`},
		{"cause c1 x\na stdout c1\n", `want "CASE PARTS CAUSE reason"`},
		{"cause c1 x\na stdout c1 r\na stderr c1 r\n", "case a is already listed at allow.txt:2"},
		{"cause c1\n", `want "cause TAG what it means"`},
		{"cause c1 x\ncause c1 y\n", `cause "c1" defined twice`},
	} {
		_, err := parseAllowList("allow.txt", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.src, err, tc.want)
		}
	}
}

// TestBashdiffRunner checks the process runner on plain bash: status by
// exit and by signal, the reader, stdin, and a background process that
// keeps the output open until the timeout.
func TestBashdiffRunner(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marker := proctest.NewMarker()
	t.Cleanup(func() { proctest.AssertNoLeftovers(t, proctest.MarkerVar, marker, dieBound) })
	run := func(script string, mod func(*bdProc)) bdOutcome {
		t.Helper()
		env := []string{"PATH=/usr/bin:/bin", proctest.MarkerVar + "=" + marker}
		p := bdProc{path: "/bin/bash", argv: []string{"bash", "-c", script}, dir: dir, env: env, timeout: 5 * time.Second}
		if mod != nil {
			mod(&p)
		}
		o, err := p.run()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	if o := run("echo out; echo err >&2; exit 3", nil); string(o.stdout) != "out\n" || string(o.stderr) != "err\n" || o.status != 3 || o.timedOut {
		t.Errorf("exit: %+v", o)
	}
	if o := run("echo x; kill -9 $$", nil); o.status != 137 || o.signal != 9 || o.describe() != "137 (killed by signal 9)" {
		t.Errorf("signal: %+v", o)
	}
	if o := run("readlink /proc/self/fd/0; perl -e 'print \"ok\\n\" if -e \"/proc/self/fd/3\"'", nil); string(o.stdout) != "/dev/null\n" {
		t.Errorf("stdin and no inherited fd 3: %q", o.stdout)
	}
	// The launcher blocks SIGCHLD; bash -c resets the mask of what it runs.
	if o := run("", func(p *bdProc) { p.path, p.argv = "/bin/grep", []string{"grep", "SigBlk", "/proc/self/status"} }); string(o.stdout) != "SigBlk:\t0000000000010000\n" {
		t.Errorf("the launcher's mask: %q", o.stdout)
	}
	if o := run("grep SigBlk /proc/self/status", nil); string(o.stdout) != "SigBlk:\t0000000000000000\n" {
		t.Errorf("the mask under bash -c: %q", o.stdout)
	}
	if o := run("cat; ls /proc/self/fd", func(p *bdProc) { p.stdin, p.hasStdin = []byte("in\n"), true }); string(o.stdout) != "in\n0\n1\n2\n3\n" {
		t.Errorf("stdin and fds: %q", o.stdout)
	}
	if o := run("seq 100000; echo done >&2", func(p *bdProc) { p.reader = "head -n 2" }); string(o.stdout) != "1\n2\n" || string(o.stderr) != "done\n" || o.status != 0 {
		t.Errorf("reader, seq dies of SIGPIPE: %+v", o)
	}
	if o := run("for i in $(seq 100000); do echo $i; done; echo done >&2", func(p *bdProc) { p.reader = "head -n 2" }); string(o.stdout) != "1\n2\n" || len(o.stderr) != 0 || o.status != 141 {
		t.Errorf("reader, bash dies of SIGPIPE: %+v", o)
	}
	if o := run("echo a; echo b >&2; echo c", func(p *bdProc) { p.merged = true }); string(o.stdout) != "a\nb\nc\n" || len(o.stderr) != 0 {
		t.Errorf("merged: %+v", o)
	}
	began := time.Now()
	o := run("echo early; sleep 30 & kill -STOP $$", func(p *bdProc) { p.timeout = 300 * time.Millisecond })
	if !o.timedOut || string(o.stdout) != "early\n" || o.statusKey() != "timeout" {
		t.Errorf("stopped: %+v", o)
	}
	if d := time.Since(began); d > bdGrace+5*time.Second {
		t.Errorf("a stopped process took %v to be stopped", d)
	}
}
