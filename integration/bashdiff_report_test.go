//go:build linux

package integration

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The differential test's reports: the summary line, the differences
// grouped by cause, the allow-list as a Markdown table.

// bdSummary counts the results.
type bdSummary struct {
	cases, agree, agreeLines, differ int
	byPart                           map[string]int
	noEnd                            int // cases where a side timed out
	allowed, unexpected, stale       int
}

func (s *bdSummary) add(r *bdResult, a *bdAllow) {
	if s.byPart == nil {
		s.byPart = map[string]int{}
	}
	s.cases++
	if r.err != nil {
		s.unexpected++
		return
	}
	got := r.parts(false)
	if len(got) == 0 {
		s.agree++
	} else {
		s.differ++
	}
	if len(r.parts(true)) == 0 {
		s.agreeLines++
	}
	for p := range got {
		s.byPart[p]++
	}
	for i := range r.bash {
		if r.bash[i].timedOut != r.mt[i].timedOut {
			s.noEnd++
			break
		}
	}
	switch {
	case len(got) == 0 && a != nil && len(a.parts) > 0:
		s.stale++
	case len(got) == 0:
	case a != nil && a.allows(got):
		s.allowed++
	default:
		s.unexpected++
	}
}

func (s *bdSummary) line() string {
	pct := func(n int) string {
		if s.cases == 0 {
			return "0%"
		}
		return fmt.Sprintf("%d%%", (100*n+s.cases/2)/s.cases)
	}
	return fmt.Sprintf("bashdiff: %d cases; %d agree (%s); %d agree if line numbers are ignored (%s); %d differ: status %d, stdout %d, stderr %d (one side never ended: %d); allowed %d, unexpected %d, stale allow-list entries %d",
		s.cases, s.agree, pct(s.agree), s.agreeLines, pct(s.agreeLines), s.differ,
		s.byPart["status"], s.byPart["stdout"], s.byPart["stderr"], s.noEnd, s.allowed, s.unexpected, s.stale)
}

// bdReport is the report mode's text: the differences of every differing
// case, grouped by the cause its allow-list entry gives, then the summary.
func bdReport(results []*bdResult, allow *bdAllowList, sum bdSummary, agreeing bool) string {
	groups := map[string][]*bdResult{}
	var b strings.Builder
	for _, r := range results {
		if agreeing && r.err == nil && len(r.parts(false)) == 0 {
			fmt.Fprintf(&b, "\n%s (%s) agrees:\n", r.c.name, r.c.where)
			for i, o := range r.bash {
				fmt.Fprintf(&b, "  call %d: status %s\n    stdout %s\n    stderr %s\n", i+1, o.describe(), bdQuote(o.stdout), bdQuote(o.stderr))
			}
		}
		if r.err != nil || len(r.parts(false)) == 0 {
			continue
		}
		cause := "(not in the allow-list)"
		if a := allow.entries[r.c.name]; a != nil {
			cause = a.cause
		}
		groups[cause] = append(groups[cause], r)
	}
	for _, cause := range append(append([]string{}, allow.order...), "(not in the allow-list)") {
		rs := groups[cause]
		if len(rs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s: %s (%d)\n", cause, allow.causes[cause], len(rs))
		for _, r := range rs {
			fmt.Fprintf(&b, "\n%s (%s) differs in %s", r.c.name, r.c.where, partsString(r.parts(false)))
			if len(r.parts(true)) == 0 {
				b.WriteString(" (line numbers only)")
			}
			b.WriteString("\n")
			b.WriteString(r.diff())
		}
	}
	fmt.Fprintf(&b, "\n%s\n", sum.line())
	return b.String()
}

// bdPrint prints a report on stdout, or writes it to MOTHREADS_BASHDIFF_OUT.
func bdPrint(t *testing.T, text string) {
	out := os.Getenv("MOTHREADS_BASHDIFF_OUT")
	if out == "" {
		fmt.Print(text)
		return
	}
	if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
		t.Errorf("MOTHREADS_BASHDIFF_OUT: %v", err)
	}
}

// bdTable renders the allow-list as a Markdown table: one row per cause,
// with what it means and the cases it explains.
func bdTable(allow *bdAllowList) string {
	byCause := map[string][]string{}
	for name, a := range allow.entries {
		byCause[a.cause] = append(byCause[a.cause], name)
	}
	var b strings.Builder
	b.WriteString("| cause | what differs from `bash -c` | cases |\n|---|---|---|\n")
	for _, c := range allow.order {
		names := byCause[c]
		slices.Sort(names)
		cell := strings.ReplaceAll(allow.causes[c], "|", "\\|")
		fmt.Fprintf(&b, "| `%s` | %s | %d: %s |\n", c, cell, len(names), strings.Join(names, ", "))
	}
	return b.String()
}

// diff shows, for each step that differs, what bash gave and what mothreads
// gave, per part, escaped.
func (r *bdResult) diff() string {
	var b strings.Builder
	for i := range r.bash {
		bo, mo := r.bash[i], r.mt[i]
		step := ""
		if len(r.bash) > 1 {
			step = fmt.Sprintf("call %d: ", i+1)
		}
		if bo.statusKey() != mo.statusKey() {
			fmt.Fprintf(&b, "  %sstatus: bash %s, mothreads %s\n", step, bo.describe(), mo.describe())
		}
		for _, s := range []struct {
			name   string
			bv, mv []byte
		}{{"stdout", bo.stdout, mo.stdout}, {"stderr", bo.stderr, mo.stderr}} {
			if string(s.bv) != string(s.mv) {
				fmt.Fprintf(&b, "  %s%s:\n%s", step, s.name, bdStreamDiff(s.bv, s.mv))
			}
		}
	}
	return b.String()
}

// bdStreamDiff shows two different outputs, escaped: both whole when they
// are short, else from the first line where they part, a few lines each.
func bdStreamDiff(want, got []byte) string {
	const short, context = 300, 4
	if len(want) <= short && len(got) <= short {
		return fmt.Sprintf("    bash      %s\n    mothreads %s\n", bdQuote(want), bdQuote(got))
	}
	wl, gl := strings.SplitAfter(string(want), "\n"), strings.SplitAfter(string(got), "\n")
	i := 0
	for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
		i++
	}
	part := func(l []string) string {
		end := min(len(l), i+context)
		if i >= end {
			return `""`
		}
		s := bdQuote([]byte(strings.Join(l[i:end], "")))
		if end < len(l) {
			s += fmt.Sprintf(" ... (%d more lines)", len(l)-end)
		}
		return s
	}
	return fmt.Sprintf("    from line %d (of %d / %d):\n    bash      %s\n    mothreads %s\n", i+1, len(wl), len(gl), part(wl), part(gl))
}

// bdQuote escapes output as a Go string literal, cut at 600 bytes.
func bdQuote(b []byte) string {
	const limit = 600
	if len(b) > limit {
		return strconv.Quote(string(b[:limit])) + fmt.Sprintf(" ... (%d bytes in all)", len(b))
	}
	return strconv.Quote(string(b))
}
