//go:build linux

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The differential test's allow-list, testdata/bashdiff/allow.txt: the
// differences from bash -c that mothreads has today, each with its cause.

// bdStreams are the parts of a call's outcome that the test compares.
var bdStreams = []string{"status", "stdout", "stderr"}

// bdAllow is one entry of the allow-list: the case, the parts that differ
// today (each one on every run, or on some runs only), the cause (a tag
// defined in the file) and the reason.
type bdAllow struct {
	where  string
	name   string
	parts  map[string]bool // status, stdout, stderr: differ on every run
	maybe  map[string]bool // differ on some runs only ("stdout?")
	cause  string
	reason string
}

// allows reports whether the entry allows exactly the differing parts got.
func (a *bdAllow) allows(got map[string]bool) bool {
	for p := range a.parts {
		if !got[p] {
			return false
		}
	}
	for p := range got {
		if !a.parts[p] && !a.maybe[p] {
			return false
		}
	}
	return true
}

// spelling is the entry's parts as the allow-list writes them.
func (a *bdAllow) spelling() string {
	var out []string
	for _, s := range bdStreams {
		switch {
		case a.parts[s]:
			out = append(out, s)
		case a.maybe[s]:
			out = append(out, s+"?")
		}
	}
	return strings.Join(out, ",")
}

// bdAllowList is the parsed allow-list.
type bdAllowList struct {
	causes  map[string]string // tag -> what it means
	order   []string          // tags in the order of the file
	entries map[string]*bdAllow
}

// loadAllowList reads the allow-list (format in the README next to it).
func loadAllowList(path string) (*bdAllowList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseAllowList(filepath.Base(path), data)
}

func parseAllowList(file string, data []byte) (*bdAllowList, error) {
	al := &bdAllowList{causes: map[string]string{}, entries: map[string]*bdAllow{}}
	for i, line := range strings.Split(string(data), "\n") {
		where := fmt.Sprintf("%s:%d", file, i+1)
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "cause "):
			f, what := bdFields(line, 2)
			if len(f) < 2 || what == "" || !bdNameRE.MatchString(f[1]) {
				return nil, fmt.Errorf("%s: want \"cause TAG what it means\"", where)
			}
			if _, dup := al.causes[f[1]]; dup {
				return nil, fmt.Errorf("%s: cause %q defined twice", where, f[1])
			}
			al.causes[f[1]] = what
			al.order = append(al.order, f[1])
			continue
		}
		f, reason := bdFields(line, 3)
		if len(f) < 3 || reason == "" {
			return nil, fmt.Errorf("%s: want \"CASE PARTS CAUSE reason\", got %q", where, line)
		}
		a := &bdAllow{where: where, name: f[0], parts: map[string]bool{}, maybe: map[string]bool{}, cause: f[2], reason: reason}
		for _, p := range strings.Split(f[1], ",") {
			set := a.parts
			if q, ok := strings.CutSuffix(p, "?"); ok {
				set, p = a.maybe, q
			}
			switch {
			case p == "all":
				for _, s := range bdStreams {
					set[s] = true
				}
			case slices.Contains(bdStreams, p) && !a.parts[p] && !a.maybe[p]:
				set[p] = true
			default:
				return nil, fmt.Errorf("%s: case %s: part %q: want status, stdout, stderr or all, each once, comma-separated, each optionally ending in ? (differs on some runs only)", where, f[0], p)
			}
		}
		if _, ok := al.causes[a.cause]; !ok {
			return nil, fmt.Errorf("%s: case %s: cause %q is not defined above it (cause TAG ...)", where, f[0], a.cause)
		}
		if prev, dup := al.entries[a.name]; dup {
			return nil, fmt.Errorf("%s: case %s is already listed at %s", where, a.name, prev.where)
		}
		al.entries[a.name] = a
	}
	return al, nil
}

// bdFields splits the first n blank-separated fields off line and returns
// them and the rest, trimmed.
func bdFields(line string, n int) ([]string, string) {
	var f []string
	rest := strings.TrimSpace(line)
	for len(f) < n && rest != "" {
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			f, rest = append(f, rest), ""
			break
		}
		f, rest = append(f, rest[:i]), strings.TrimSpace(rest[i:])
	}
	return f, rest
}

// partsString names a set of parts in the allow-list's spelling.
func partsString(parts map[string]bool) string {
	var out []string
	for _, s := range bdStreams {
		if parts[s] {
			out = append(out, s)
		}
	}
	if len(out) == len(bdStreams) {
		return "all"
	}
	return strings.Join(out, ",")
}
