//go:build linux

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The differential test's corpus: files NAME.cases in testdata/bashdiff,
// each holding cases in the format that testdata/bashdiff/README.md
// describes. In short:
//
//	=== CASE-NAME [timeout=5s] [own-daemon] [merged] [quoted]
//	script (the text of -c; its last newline is dropped)
//	--- stdin [noeol|quoted]
//	bytes given as stdin to every call of the case (default /dev/null)
//	--- env
//	KEY=VALUE (over the base environment; @DIR@ is the case's directory)
//	-KEY      (removed from the base environment)
//	--- file PATH [noeol|quoted] [mode=0755]
//	content of a file seeded in the case's directory
//	--- argv
//	one word per line: an argv case (the script must be empty)
//	--- reader
//	a bash script that reads the call's stdout, as `CALL | READER` would
//	--- then [N]
//	the script of a later call on the same daemon, run N times (default 1)

// bdCase is one case of the corpus.
type bdCase struct {
	name      string
	where     string // file:line of its === line
	steps     []bdStep
	stdin     []byte // given to every call when hasStdin
	hasStdin  bool
	env       []string // KEY=VALUE to set, -KEY to remove
	files     []bdFile
	reader    string // "" when the call's stdout is read directly
	timeout   time.Duration
	ownDaemon bool
	merged    bool // stdout and stderr on one pipe, compared as stdout
}

// bdStep is one call of a case: a script (-c) or, when argv is set, a
// program and its arguments.
type bdStep struct {
	script string
	argv   []string
}

// bdFile is a file seeded in a case's directory before each side runs.
type bdFile struct {
	path string // relative, inside the case's directory
	data []byte
	mode os.FileMode
}

// bdDefaultTimeout bounds each call of a case that sets no timeout.
const bdDefaultTimeout = 10 * time.Second

var bdNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// loadCorpus reads every *.cases file of dir, in name order.
func loadCorpus(dir string) ([]*bdCase, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.cases"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no *.cases file in %s", dir)
	}
	slices.Sort(paths)
	var all []*bdCase
	seen := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		cases, err := parseCases(filepath.Base(p), data)
		if err != nil {
			return nil, err
		}
		for _, c := range cases {
			if at, ok := seen[c.name]; ok {
				return nil, fmt.Errorf("%s: case %q is already defined at %s", c.where, c.name, at)
			}
			seen[c.name] = c.where
		}
		all = append(all, cases...)
	}
	return all, nil
}

// bdSection is a "--- KIND ARGS" block being collected.
type bdSection struct {
	kind string
	args []string
	line int
	body []string
}

// parseCases parses one corpus file; file names it in errors.
func parseCases(file string, data []byte) ([]*bdCase, error) {
	var (
		cases []*bdCase
		cur   *bdCase
		sec   *bdSection
	)
	finish := func() error {
		if cur == nil {
			return nil
		}
		if err := cur.add(sec); err != nil {
			return fmt.Errorf("%s:%d: case %s: %w", file, sec.line, cur.name, err)
		}
		if err := cur.check(); err != nil {
			return fmt.Errorf("%s: case %s: %w", cur.where, cur.name, err)
		}
		cases = append(cases, cur)
		return nil
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		n := i + 1
		switch {
		case strings.HasPrefix(line, "=== "):
			if err := finish(); err != nil {
				return nil, err
			}
			var err error
			words := strings.Fields(line[4:])
			if cur, err = newCase(file, n, words); err != nil {
				return nil, err
			}
			sec = &bdSection{kind: "script", line: n}
			if slices.Contains(words[1:], "quoted") {
				sec.args = []string{"quoted"}
			}
		case strings.HasPrefix(line, "--- "):
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: %q before the first === line", file, n, line)
			}
			if err := cur.add(sec); err != nil {
				return nil, fmt.Errorf("%s:%d: case %s: %w", file, sec.line, cur.name, err)
			}
			f := strings.Fields(line[4:])
			if len(f) == 0 {
				return nil, fmt.Errorf("%s:%d: a --- line without a section name", file, n)
			}
			sec = &bdSection{kind: f[0], args: f[1:], line: n}
		case cur == nil:
			if line != "" && !strings.HasPrefix(line, "#") {
				return nil, fmt.Errorf("%s:%d: only comments and blank lines may come before the first === line, got %q", file, n, line)
			}
		default:
			sec.body = append(sec.body, line)
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return cases, nil
}

// newCase starts a case from the words after "===".
func newCase(file string, line int, words []string) (*bdCase, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("%s:%d: a === line without a case name", file, line)
	}
	c := &bdCase{name: words[0], where: fmt.Sprintf("%s:%d", file, line), timeout: bdDefaultTimeout}
	if !bdNameRE.MatchString(c.name) {
		return nil, fmt.Errorf("%s: case name %q: want lower-case letters, digits, '.', '_' and '-'", c.where, c.name)
	}
	for _, w := range words[1:] {
		switch {
		case w == "quoted": // the script is one Go string literal
		case w == "own-daemon":
			c.ownDaemon = true
		case w == "merged":
			c.merged = true
		case strings.HasPrefix(w, "timeout="):
			d, err := time.ParseDuration(strings.TrimPrefix(w, "timeout="))
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("%s: case %s: %q: want a positive duration", c.where, c.name, w)
			}
			c.timeout = d
		default:
			return nil, fmt.Errorf("%s: case %s: unknown option %q (want timeout=D, own-daemon, merged or quoted)", c.where, c.name, w)
		}
	}
	return c, nil
}

// text is a section's body: its lines, trailing blank lines dropped, joined
// with newlines (without a final one).
func (s *bdSection) text() string {
	body := s.body
	for len(body) > 0 && strings.TrimSpace(body[len(body)-1]) == "" {
		body = body[:len(body)-1]
	}
	return strings.Join(body, "\n")
}

// bytes is the body of a data section (stdin, file): the text with a final
// newline, or without one (noeol), or a Go string literal (quoted).
func (s *bdSection) bytes(opts map[string]bool) ([]byte, error) {
	t := s.text()
	switch {
	case opts["quoted"]:
		u, err := strconv.Unquote(strings.TrimSpace(t))
		if err != nil {
			return nil, fmt.Errorf("--- %s quoted: the body is not one Go string literal: %v", s.kind, err)
		}
		return []byte(u), nil
	case opts["noeol"] || t == "":
		return []byte(t), nil
	default:
		return []byte(t + "\n"), nil
	}
}

// unquote is the section's text, or with quoted the Go string literal it
// holds.
func (s *bdSection) unquote(opts map[string]bool) (string, error) {
	t := s.text()
	if !opts["quoted"] || t == "" {
		return t, nil
	}
	u, err := strconv.Unquote(strings.TrimSpace(t))
	if err != nil {
		return "", fmt.Errorf("--- %s quoted: the body is not one Go string literal: %v", s.kind, err)
	}
	return u, nil
}

// lines is the section's lines, each one unquoted with quoted.
func (s *bdSection) lines(opts map[string]bool) ([]string, error) {
	if s.text() == "" {
		return nil, nil
	}
	lines := strings.Split(s.text(), "\n")
	for i, l := range lines {
		if opts["quoted"] {
			u, err := strconv.Unquote(strings.TrimSpace(l))
			if err != nil {
				return nil, fmt.Errorf("--- %s quoted: line %q is not a Go string literal: %v", s.kind, l, err)
			}
			lines[i] = u
		}
	}
	return lines, nil
}

// add adds a finished section to the case.
func (c *bdCase) add(s *bdSection) error {
	opts := map[string]bool{}
	var mode os.FileMode = 0o644
	var rest []string
	for _, a := range s.args {
		switch {
		case a == "noeol" || a == "quoted":
			opts[a] = true
		case strings.HasPrefix(a, "mode="):
			m, err := strconv.ParseUint(strings.TrimPrefix(a, "mode="), 8, 32)
			if err != nil || m > 0o777 {
				return fmt.Errorf("--- %s: %q: want an octal mode such as mode=0755", s.kind, a)
			}
			mode = os.FileMode(m)
		default:
			rest = append(rest, a)
		}
	}
	argsWanted := map[string]int{"script": 0, "stdin": 0, "env": 0, "argv": 0, "reader": 0, "file": 1, "then": -1}
	want, known := argsWanted[s.kind]
	switch {
	case !known:
		return fmt.Errorf("unknown section --- %s (want stdin, env, file, argv, reader or then)", s.kind)
	case want >= 0 && len(rest) != want:
		return fmt.Errorf("--- %s: unexpected arguments %q", s.kind, rest)
	case opts["noeol"] && s.kind != "stdin" && s.kind != "file", opts["quoted"] && s.kind == "reader", mode != 0o644 && s.kind != "file":
		return fmt.Errorf("--- %s: an option it does not take (noeol: stdin and file; quoted: all but reader; mode=: file)", s.kind)
	}
	switch s.kind {
	case "script":
		t, err := s.unquote(opts)
		if err != nil {
			return err
		}
		c.steps = append(c.steps, bdStep{script: t})
	case "stdin":
		if c.hasStdin {
			return fmt.Errorf("a second --- stdin")
		}
		b, err := s.bytes(opts)
		if err != nil {
			return err
		}
		c.stdin, c.hasStdin = b, true
	case "env":
		lines, err := s.lines(opts)
		if err != nil {
			return err
		}
		for _, kv := range lines {
			if kv == "" {
				continue
			}
			name, _, hasValue := strings.Cut(strings.TrimPrefix(kv, "-"), "=")
			if strings.HasPrefix(kv, "-") == hasValue || !bdEnvNameRE.MatchString(name) {
				return fmt.Errorf("--- env: %q: want KEY=VALUE or -KEY", kv)
			}
			c.env = append(c.env, kv)
		}
	case "file":
		p := filepath.Clean(rest[0])
		if filepath.IsAbs(p) || p == "." || strings.HasPrefix(p, "..") {
			return fmt.Errorf("--- file %q: want a relative path inside the case's directory", rest[0])
		}
		b, err := s.bytes(opts)
		if err != nil {
			return err
		}
		c.files = append(c.files, bdFile{path: p, data: b, mode: mode})
	case "argv":
		if c.steps[0].script != "" || len(c.steps) > 1 {
			return fmt.Errorf("--- argv: the case already has a script")
		}
		words, err := s.lines(opts)
		if err != nil {
			return err
		}
		if len(words) == 0 {
			return fmt.Errorf("--- argv: no words")
		}
		c.steps[0].argv = words
	case "reader":
		if c.reader != "" {
			return fmt.Errorf("a second --- reader")
		}
		c.reader = s.text()
		if c.reader == "" {
			return fmt.Errorf("--- reader: empty")
		}
	case "then":
		n := 1
		if len(rest) > 1 {
			return fmt.Errorf("--- then: unexpected arguments %q (want --- then [N])", rest)
		}
		if len(rest) == 1 {
			v, err := strconv.Atoi(rest[0])
			if err != nil || v < 1 || v > 20 {
				return fmt.Errorf("--- then %s: want a count from 1 to 20", rest[0])
			}
			n = v
		}
		t, err := s.unquote(opts)
		if err != nil {
			return err
		}
		if t == "" {
			return fmt.Errorf("--- then: empty script")
		}
		for range n {
			c.steps = append(c.steps, bdStep{script: t})
		}
	}
	return nil
}

var bdEnvNameRE = regexp.MustCompile(`^[^=\x00]+$`)

// check validates a whole case.
func (c *bdCase) check() error {
	if c.steps[0].script == "" && c.steps[0].argv == nil {
		return fmt.Errorf("no script and no --- argv")
	}
	for _, s := range c.steps {
		if strings.ContainsRune(s.script, 0) || slices.ContainsFunc(s.argv, func(w string) bool { return strings.ContainsRune(w, 0) }) {
			return fmt.Errorf("a NUL byte in a script or argv (the kernel cannot pass it)")
		}
	}
	return nil
}
