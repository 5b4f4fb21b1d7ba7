//go:build linux

package bash

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// The parsers of what the shell and its children write: report lines,
// the start records, the end report.

// maxReportError bounds the error for any bad report: the line is cut to 80
// bytes and quoted (at most 4 characters a byte).
const maxReportError = len("malformed report: ") + 2 + 4*80 + len("...")

func TestParseReport(t *testing.T) {
	good := []struct {
		line string
		want report
	}{
		{"k 1 123", report{kind: 'k', slot: 1, pid: 123}},
		{"r 2 456", report{kind: 'r', slot: 2, pid: 456}},
		{"F 3", report{kind: 'F', slot: 3}},
		{"s 4", report{kind: 's', slot: 4}},
		{"e 5 cwd", report{kind: 'e', slot: 5}},
		{"d 6 0", report{kind: 'd', slot: 6}},
		{"d 6 255", report{kind: 'd', slot: 6, status: 255}},
		{"z 7 130", report{kind: 'z', slot: 7, status: 130}},
		{"p 4242", report{kind: 'p', pid: 4242}},
	}
	for _, c := range good {
		got, err := parseReport(c.line)
		if err != nil || got != c.want {
			t.Errorf("parseReport(%q) = %+v, %v; want %+v", c.line, got, err, c.want)
		}
	}
	bad := []struct{ why, line string }{
		{"empty", ""},
		{"kind alone", "s"},
		{"kind of two letters", "ss 1"},
		{"unknown kind", "x 1"},
		{"signal pipe's message", "g INT"},
		{"a record's tag", "I"},
		{"the pool's quit", "q"},
		{"the pool's fork message, echoed", "f00000001" + strings.Repeat("0", 32)},
		{"slot zero", "s 0"},
		{"negative slot", "s -1"},
		{"slot not a number", "s one"},
		{"slot too large for int", "s 99999999999999999999"},
		{"missing pid", "k 1"},
		{"pid 0", "k 1 0"},
		{"pid 1 (init)", "r 1 1"},
		{"negative pid", "r 1 -5"},
		{"extra field", "k 1 2 3"},
		{"extra field on s", "s 1 2"},
		{"trailing space", "s 1 "},
		{"double space", "k  1 2"},
		{"tab for space", "s\t1"},
		{"carriage return", "s 1\r"},
		{"NUL after the slot", "s 1\x00"},
		{"error other than cwd", "e 1 dir"},
		{"error with no what", "e 1"},
		{"negative status", "d 1 -1"},
		{"status not a number", "d 1 x"},
		{"forker pid 1", "p 1"},
		{"forker with a slot", "p 1 2"},
		{"forker not a number", "p x"},
		{"an end report (FIFO, not socket)", "\x000"},
		{"output of a script", "hello world"},
		{"too long", "s " + strings.Repeat("1", 10000)},
		{"non-UTF-8", "s \xff\xfe"},
	}
	for _, c := range bad {
		got, err := parseReport(c.line)
		if !errors.Is(err, errBadReport) {
			t.Errorf("%s: parseReport(%q) = %+v, %v; want errBadReport", c.why, c.line, got, err)
			continue
		}
		if len(err.Error()) > maxReportError {
			t.Errorf("%s: error of %d bytes: a report must not flood the log", c.why, len(err.Error()))
		}
	}
}

func FuzzParseReport(f *testing.F) {
	for _, s := range []string{"k 1 123", "r 2 456", "F 3", "s 4", "e 5 cwd", "d 6 0", "z 7 130", "p 4242", "s +1", "d 1 99999999999", "", "g INT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := parseReport(line)
		if err != nil {
			if !errors.Is(err, errBadReport) {
				t.Fatalf("error %v is not errBadReport", err)
			}
			if len(err.Error()) > maxReportError {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		if strings.ContainsAny(line, "\n\x00\r\t") {
			t.Fatalf("accepted %q, which has a control character", line)
		}
		switch r.kind {
		case 'p':
			if r.pid <= 1 || r.slot != 0 {
				t.Fatalf("%q: %+v", line, r)
			}
		case 'k', 'r':
			if r.slot <= 0 || r.pid <= 1 {
				t.Fatalf("%q: %+v", line, r)
			}
		case 'd', 'z':
			if r.slot <= 0 || r.status < 0 || r.pid != 0 {
				t.Fatalf("%q: %+v", line, r)
			}
		case 'F', 's', 'e':
			if r.slot <= 0 || r.pid != 0 || r.status != 0 {
				t.Fatalf("%q: %+v", line, r)
			}
		default:
			t.Fatalf("%q: kind %q", line, r.kind)
		}
		// What it accepted reads the same in the canonical form.
		var canon string
		switch r.kind {
		case 'p':
			canon = fmt.Sprintf("p %d", r.pid)
		case 'k', 'r':
			canon = fmt.Sprintf("%c %d %d", r.kind, r.slot, r.pid)
		case 'd', 'z':
			canon = fmt.Sprintf("%c %d %d", r.kind, r.slot, r.status)
		case 'e':
			canon = fmt.Sprintf("e %d cwd", r.slot)
		default:
			canon = fmt.Sprintf("%c %d", r.kind, r.slot)
		}
		if again, err := parseReport(canon); err != nil || again != r {
			t.Fatalf("%q parsed as %+v, but its canonical form %q as %+v, %v", line, r, canon, again, err)
		}
	})
}

// record builds a found or info record as session.bash writes it.
func record(fields ...string) string {
	return strings.Join(fields, "\x00") + "\x00\x00"
}

func TestReadRecord(t *testing.T) {
	found := record("i", "u:0022\n", "l:core file size (blocks, -c) 0")
	st, err := readRecord(bufio.NewReader(strings.NewReader(found)), 'i')
	if err != nil || st.umask != "0022" || !strings.HasPrefix(st.limits, "core file") {
		t.Fatalf("found record: %+v, %v", st, err)
	}
	info := record("I", "0", "d:/tmp/a b", "v:5.2", "u:0077\n", "l:x", "e:A=1=2", "e:B=", "e:\xffname=\n",
		"b:cd", "b:echo", "f:greet")
	st, err = readRecord(bufio.NewReader(strings.NewReader(info+"p 77\n")), 'I')
	if err != nil {
		t.Fatal(err)
	}
	if st.status != 0 || st.dir != "/tmp/a b" || st.version != "5.2" || st.umask != "0077" ||
		st.env["A"] != "1=2" || st.env["B"] != "" || st.env["\xffname"] != "\n" ||
		strings.Join(st.builtins, ",") != "cd,echo" || strings.Join(st.functions, ",") != "greet" {
		t.Errorf("info record: %+v", st)
	}
	failed, err := readRecord(bufio.NewReader(strings.NewReader(record("I", "3"))), 'I')
	if err != nil || failed.status != 3 {
		t.Errorf("info of a failed init: %+v, %v", failed, err)
	}

	bad := []struct {
		why  string
		text string
		kind byte
	}{
		{"info where found was due", info, 'i'},
		{"found where info was due", found, 'I'},
		{"cut: a report line where a record was due (no NUL: read to the end)", "s 1\n", 'i'},
		{"status not a number", record("I", "x"), 'I'},
		{"field without a tag", record("i", "nocolon"), 'i'},
		{"tag of two letters", record("i", "uu:0022"), 'i'},
		{"unknown tag", record("i", "z:1"), 'i'},
		{"cut short", "i\x00u:0022\x00", 'i'},
		{"cut in a field", "I\x000\x00d:/tm", 'I'},
		{"empty", "", 'i'},
	}
	for _, c := range bad {
		_, err := readRecord(bufio.NewReader(strings.NewReader(c.text)), c.kind)
		if err == nil {
			t.Errorf("%s: accepted", c.why)
		}
		if strings.HasPrefix(c.why, "cut") || c.why == "empty" {
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				t.Errorf("%s: %v, want an end-of-stream error", c.why, err)
			}
		} else if !errors.Is(err, errBadReport) {
			t.Errorf("%s: %v, want errBadReport", c.why, err)
		}
	}
}

func FuzzReadRecord(f *testing.F) {
	f.Add(record("i", "u:0022", "l:x"), byte('i'))
	f.Add(record("I", "0", "d:/", "e:A=1", "b:cd", "f:g"), byte('I'))
	f.Add("I\x00", byte('I'))
	f.Fuzz(func(t *testing.T, text string, kind byte) {
		st, err := readRecord(bufio.NewReader(strings.NewReader(text)), kind)
		if err == nil && (st == nil || st.env == nil) {
			t.Fatalf("no state and no error")
		}
	})
}

func TestReadForker(t *testing.T) {
	pid, err := readForker(bufio.NewReader(strings.NewReader("p 1234\nk 1 5\n")))
	if err != nil || pid != 1234 {
		t.Fatalf("readForker = %d, %v", pid, err)
	}
	for _, text := range []string{"", "p 1234", "k 1 1234\n", "p 1\n", "p\n", "s 1\n"} {
		if pid, err := readForker(bufio.NewReader(strings.NewReader(text))); err == nil {
			t.Errorf("readForker(%q) = %d, want an error", text, pid)
		}
	}
}

// TestEndReport: the child's end report on DIR/PID.0 is `trap -p EXIT`
// (any number of lines), NUL, the status. Only a report with no trap text
// ends the call early, and only the first.
func TestEndReport(t *testing.T) {
	type step struct {
		line   string
		ended  bool
		status int
	}
	cases := []struct {
		why   string
		steps []step
	}{
		{"status 0", []step{{"\x000", true, 0}}},
		{"status 255", []step{{"\x00255", true, 255}}},
		{"an EXIT trap on one line", []step{{"trap -- 'echo bye' EXIT\x000", false, 0}}},
		{"an EXIT trap over two lines", []step{{"trap -- 'echo", false, 0}, {"bye' EXIT\x003", false, 0}}},
		{"a trap, then a report with none", []step{{"trap -- 'x' EXIT\x000", false, 0}, {"\x007", true, 7}}},
		{"status out of range", []step{{"\x00256", false, 0}}},
		{"negative status", []step{{"\x00-1", false, 0}}},
		{"status not a number", []step{{"\x00zero", false, 0}}},
		{"no status", []step{{"\x00", false, 0}}},
		{"a second report is ignored", []step{{"\x001", true, 1}, {"\x002", true, 1}}},
		{"xtrace output before it", []step{{"+ true", false, 0}, {"\x000", false, 0}}},
	}
	for _, c := range cases {
		w := &endWatch{}
		for i, s := range c.steps {
			if err := w.report([]byte(s.line)); err != nil {
				t.Fatalf("%s: step %d: %v", c.why, i, err)
			}
			if w.ended.Fired() != s.ended || s.ended && w.status != s.status {
				t.Errorf("%s: after %q: ended %v status %d, want %v %d", c.why, s.line, w.ended.Fired(), w.status, s.ended, s.status)
			}
		}
	}
}
