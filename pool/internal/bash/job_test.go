//go:build linux

package bash

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/mothreads/mothreads/pool/internal/driver"
)

// hostile are values a caller may send: every one must come back from
// quote, evaluated by bash, byte for byte.
var hostile = []string{
	"", "plain", "with space", "tab\there", "new\nline", "cr\rlf\r\n", "trailing\n\n",
	"'", "''", `"`, `\`, `\'`, `'\''`, `$'x'`, `$"x"`,
	"$(touch /tmp/mothreads-quote-pwned)", "`touch /tmp/mothreads-quote-pwned`", "${HOME}", "$HOME", "$((1+1))",
	"~", "~root", "a:~", "*", "?", "[a]", "{a,b}", "!!", "!$", "#comment", "a;b", "a&b", "a|b", "<in", ">out",
	"=", "A=B", "-", "--", "-n", "-e", "%s", "@", "\x01\x02\x1b[31m\x7f", "\xff\xfe", "é", "日本",
	"\xc3", "\xed\xa0\x80", strings.Repeat("x", 5000),
}

// evalWords runs bash in locale loc and returns what each of words, as
// shell code, expands to (one word each).
func evalWords(t testing.TB, loc string, words []string) []string {
	t.Helper()
	var script strings.Builder
	for _, w := range words {
		script.WriteString("printf '%s\\0' " + w + "\n")
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-c", script.String())
	cmd.Env = []string{"LC_ALL=" + loc, "PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("bash: %v: %s", err, stderr.Bytes())
	}
	got := strings.Split(string(out), "\x00")
	return got[:len(got)-1]
}

func TestQuoteHostileValues(t *testing.T) {
	quoted := make([]string, len(hostile))
	for i, v := range hostile {
		q := quote(v)
		quoted[i] = q
		for _, c := range []byte(q) {
			if c < 0x20 || c >= 0x7f {
				t.Errorf("quote(%q) = %q: byte %#x is not printable ASCII", v, q, c)
				break
			}
		}
		if v == "" && q != "$''" {
			t.Errorf(`quote("") = %q, want $''`, q)
		}
	}
	for _, loc := range []string{"C", "C.UTF-8"} {
		got := evalWords(t, loc, quoted)
		if !slices.Equal(got, hostile) {
			for i := range min(len(got), len(hostile)) {
				if got[i] != hostile[i] {
					t.Errorf("LC_ALL=%s: %q quoted as %s reads back as %q", loc, hostile[i], quoted[i], got[i])
				}
			}
			if len(got) != len(hostile) {
				t.Errorf("LC_ALL=%s: %d words back, want %d", loc, len(got), len(hostile))
			}
		}
	}
}

// TestQuoteNUL: bash cannot hold a NUL byte in a string; $'\x00' ends the
// string there. quote keeps the job's framing intact (no NUL in its
// output), and requests with a NUL anywhere are refused before they get
// here, naming the field.
func TestQuoteNUL(t *testing.T) {
	q := quote("a\x00b")
	if strings.IndexByte(q, 0) >= 0 {
		t.Fatalf("quote wrote a NUL byte: %q", q)
	}
	if got := evalWords(t, "C", []string{q}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("bash read %q back as %q: the NUL ends it (that is why requests refuse NULs)", q, got)
	}
	reqs := map[string]*driver.Request{
		"script":  {Script: "echo a\x00b"},
		"argv[1]": {Argv: []string{"echo", "a\x00"}},
		"cwd":     {Script: "true", Dir: "/tmp\x00/x"},
		"env[0]":  {Script: "true", Env: []string{"A=\x00"}},
	}
	for field, req := range reqs {
		err := req.Validate(driver.Limits{})
		if err == nil || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), "NUL") {
			t.Errorf("a NUL in %s: Validate = %v, want an error naming the field", field, err)
		}
	}
}

// TestNeedsQuoteSafeSet: every byte that quote leaves bare reads as itself
// wherever it stands in a word, as an argument and as an assignment's
// value; every other byte is quoted.
func TestNeedsQuoteSafeSet(t *testing.T) {
	var safe []byte
	for c := 0; c < 256; c++ {
		if !needsQuote(byte(c)) {
			safe = append(safe, byte(c))
		}
	}
	for _, c := range []byte(" \t\n\r'\"\\$`;&|<>()*?[]{}~#!=^\x00\x7f\x80\xff") {
		if slices.Contains(safe, c) {
			t.Errorf("needsQuote(%q) is false", c)
		}
	}
	var words []string
	for _, c := range safe {
		s := string(c)
		words = append(words, s, "x"+s, s+"x", "x"+s+"x", s+s)
	}
	got := evalWords(t, "C", words)
	if !slices.Equal(got, words) {
		t.Errorf("bare words did not read as themselves:\n got %q\nwant %q", got, words)
	}
	var assign strings.Builder
	for _, w := range words {
		assign.WriteString("v=" + w + "; printf '%s\\0' \"$v\"\n")
	}
	out, err := exec.Command("bash", "--noprofile", "--norc", "-c", assign.String()).Output()
	if err != nil || string(out) != strings.Join(words, "\x00")+"\x00" {
		t.Errorf("bare words as assigned values: %q, %v", out, err)
	}
}

func FuzzQuote(f *testing.F) {
	for _, v := range hostile {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.IndexByte(v, 0) >= 0 {
			t.Skip("requests with a NUL are refused (TestQuoteNUL)")
		}
		q := quote(v)
		if strings.ContainsFunc(q, func(r rune) bool { return r < 0x20 || r >= 0x7f }) {
			t.Fatalf("quote(%q) = %q: not printable ASCII", v, q)
		}
		if got := evalWords(t, "C.UTF-8", []string{q}); len(got) != 1 || got[0] != v {
			t.Fatalf("quote(%q) = %s reads back as %q", v, q, got)
		}
	})
}

// TestArgvScript: an internal command in argv form runs with its words as
// given, the empty one included, never re-split or expanded.
func TestArgvScript(t *testing.T) {
	args := []string{"", "a b", "$(echo pwned)", "*", "'", "\xff", "-n", "x\ny"}
	script := `f() { printf '%s\0' "$@"; }; ` + argvScript(append([]string{"f"}, args...))
	out, err := exec.Command("bash", "--noprofile", "--norc", "-c", script).Output()
	if err != nil || string(out) != strings.Join(args, "\x00")+"\x00" {
		t.Errorf("argvScript: %q, %v", out, err)
	}
}

// checkJobText checks what every job must be: ASCII (printable, or a
// newline) and shell code that parses.
func checkJobText(t *testing.T, what, code string) {
	t.Helper()
	for _, c := range []byte(code) {
		if c != '\n' && (c < 0x20 || c >= 0x7f) {
			t.Errorf("%s: byte %#x in the job", what, c)
			break
		}
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-n")
	cmd.Stdin = strings.NewReader(code)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: the job does not parse: %v: %s\n%s", what, err, out, code)
	}
}

func TestEncodeJobIsolated(t *testing.T) {
	j := &job{
		slot: 12, dir: "/tmp/it's here", script: "echo $'\\xff'; `x`",
		unset: []string{"GONE", "ALSO"}, set: []string{"A=1", "B=a b", "C=$(pwned)", "D=\xff", "E="},
		shlvl: "3", oldpwd: "/old dir", hasOldpwd: true, bashEnv: "/etc/my env", check: true,
	}
	code := encodeJob(j)
	checkJobText(t, "isolated", code)
	lines := strings.Split(strings.TrimSuffix(code, "\n"), "\n")
	if want := "BASH_EXECUTION_STRING=" + quote(j.script); lines[0] != want {
		t.Errorf("line 1 = %q, want %q", lines[0], want)
	}
	for _, want := range []string{
		`\builtin cd -- ` + quote(j.dir) + ` || { \builtin printf 'e 12 cwd\n'; \builtin exit 0; }`,
		`\builtin unset -v GONE ALSO`,
		`\builtin export A=1 B=` + quote("a b") + ` C=` + quote("$(pwned)") + ` D=$'\xff' E=$'' SHLVL=3 OLDPWD=` + quote(j.oldpwd),
		`\builtin eval "false && { $BASH_EXECUTION_STRING` + "\n" + `}" || (( $? == 1 )) || __mt_c=bad`,
		`\builtin printf 's 12\n'; } >&4 2>/dev/null`,
		`\builtin exec -a bash -- "$BASH" -c "$BASH_EXECUTION_STRING"; }`,
		"\n\\command exec 4>&- 0</dev/null\nBASH_SUBSHELL=0 SECONDS=0\n",
		`\builtin . ` + quote(j.bashEnv) + "\n",
	} {
		if !strings.Contains(code, want) {
			t.Errorf("the job lacks %q:\n%s", want, code)
		}
	}
	if strings.Contains(code, "extglob") {
		t.Errorf("a script that does not mention extglob is checked with it:\n%s", code)
	}
	if strings.Contains(code, "58<") || strings.Contains(code, "__mt_fail") {
		t.Errorf("an isolated job has sticky parts:\n%s", code)
	}

	// Input: the FIFO stays stdin; no OLDPWD: exported with no value; no
	// check, no BASH_ENV.
	j = &job{slot: 3, script: "cat", stdin: true}
	code = encodeJob(j)
	checkJobText(t, "isolated, stdin", code)
	if !strings.Contains(code, "\n\\command exec 4>&-\n") || strings.Contains(code, "0</dev/null") {
		t.Errorf("a job with input closes its stdin:\n%s", code)
	}
	if !strings.Contains(code, `\builtin unset -v OLDPWD; \builtin export OLDPWD`) {
		t.Errorf("a job with no OLDPWD does not export it empty:\n%s", code)
	}
	for _, no := range []string{`\builtin cd`, "__mt_c", `\builtin . `, "SHLVL"} {
		if strings.Contains(code, no) {
			t.Errorf("a bare job has %q:\n%s", no, code)
		}
	}

	// extglob: the check parses with it on and puts it back.
	j = &job{slot: 4, script: "shopt -s extglob\necho @(a|b)", check: true}
	code = encodeJob(j)
	checkJobText(t, "isolated, extglob", code)
	if !strings.Contains(code, `\builtin shopt -q extglob && __mt_x=-s || __mt_x=-u; \builtin shopt -s extglob; \builtin eval`) ||
		!strings.Contains(code, `; \builtin shopt "$__mt_x" extglob; \builtin unset -v __mt_x`) {
		t.Errorf("extglob check:\n%s", code)
	}
}

func TestEncodeJobSticky(t *testing.T) {
	j := &job{sticky: true, fifoPrefix: "/run/s/abc", dir: "/no such", script: "cd /; x=1",
		set: []string{"K=v v"}, unset: []string{"U"}, shlvl: "2", hasOldpwd: true, oldpwd: "/o", check: true}
	code := encodeJob(j)
	checkJobText(t, "sticky", code)
	lines := strings.Split(strings.TrimSuffix(code, "\n"), "\n")
	want := []string{
		`\command exec 58</dev/null 59>/run/s/abc.e 60>/run/s/abc.o`,
		`{ if \builtin cd -- ` + quote("/no such") + `; then \builtin unset -v U; \builtin export K=` + quote("v v") + ` SHLVL=2; else __mt_fail=cwd; fi; } 2>/dev/null`,
		`BASH_EXECUTION_STRING=` + quote(j.script),
	}
	if !slices.Equal(lines, want) {
		t.Errorf("sticky job:\n got %q\nwant %q", lines, want)
	}
	j = &job{sticky: true, fifoPrefix: "/p", dir: "/d", script: "pwd"}
	if code := encodeJob(j); !strings.Contains(code, "\n{ \\builtin cd -- /d || __mt_fail=cwd; } 2>/dev/null\n") {
		t.Errorf("sticky job with a directory only:\n%s", code)
	}
	j = &job{sticky: true, fifoPrefix: "/run/s/x y", stdin: true, script: "cat"}
	code = encodeJob(j)
	checkJobText(t, "sticky, stdin", code)
	want = []string{`\command exec 58<` + quote("/run/s/x y.i") + ` 59>` + quote("/run/s/x y.e") + ` 60>` + quote("/run/s/x y.o"), `BASH_EXECUTION_STRING=cat`}
	if lines := strings.Split(strings.TrimSuffix(code, "\n"), "\n"); !slices.Equal(lines, want) {
		t.Errorf("sticky job with input:\n got %q\nwant %q", lines, want)
	}
}

// TestNewJobNamesAreShellNames: encodeJob writes variable names bare, so
// every name that reaches a job must be a shell name, whatever the caller
// sent; bash's own variables are set up as bash -c would.
func TestNewJobNamesAreShellNames(t *testing.T) {
	s := &Shell{spec: &driver.Spec{}, cwd: "/", env: driver.NewSessionEnv([]string{"DROP=2", "SHLVL=1"}, map[string]string{"KEEP": "1", "DROP": "2", "SHLVL": "2"})}
	req := &driver.Request{
		Script:     "true",
		Env:        []string{"A=1", "B;touch /tmp/x=2", "$(id)=3", "C D=4", "SHLVL=7", "PWD=/x", "=5"},
		BaseEnv:    []string{"KEEP=1", "E`id`=6", "F\n=7", "OLDPWD=/prev"},
		HasBaseEnv: true,
	}
	if err := req.Validate(driver.Limits{}); err == nil {
		t.Error("Validate accepts bad names in env")
	}
	vars := s.env.Final(req, true)
	j := s.newJob(req, "/tmp", vars)
	for _, kv := range j.set {
		k, _, _ := strings.Cut(kv, "=")
		if !driver.ValidEnvName(k) || bashManaged[k] {
			t.Errorf("job sets %q", kv)
		}
	}
	for _, k := range j.unset {
		if !driver.ValidEnvName(k) || bashManaged[k] {
			t.Errorf("job unsets %q", k)
		}
	}
	if !slices.Equal(j.unset, []string{"DROP"}) || !slices.Contains(j.set, "A=1") {
		t.Errorf("job: unset %q, set %q", j.unset, j.set)
	}
	if j.shlvl != "8" || !j.hasOldpwd || j.oldpwd != "/prev" || j.dir != "/tmp" || !j.check {
		t.Errorf("job: shlvl %q oldpwd %v %q dir %q check %v", j.shlvl, j.hasOldpwd, j.oldpwd, j.dir, j.check)
	}
	checkJobText(t, "from a hostile request", encodeJob(j))
}
