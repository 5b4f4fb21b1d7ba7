//go:build linux

package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
)

const bdDir = "testdata/bashdiff"

// bdResult is a case as both sides ran it: one outcome per step and side.
type bdResult struct {
	c         *bdCase
	bash, mt  []bdOutcome
	err       error // the harness failed: nothing to compare
	daemonErr error // the case's own daemon did not stop as it must
}

// TestBashdiff is the differential test (issue 12): every case of
// testdata/bashdiff runs as `bash -c SCRIPT` and as `mothreads exec -c
// SCRIPT`, with the same directory, environment and stdin, and the two must
// give the same stdout, stderr and exit status, byte for byte, except where
// allow.txt records the difference. testdata/bashdiff/README.md says how to
// write cases and read the results.
//
// Settings, from the environment:
//
//	MOTHREADS_BASHDIFF=report       print every difference and a summary
//	MOTHREADS_BASHDIFF=all          also print what bash gave in the cases that agree
//	MOTHREADS_BASHDIFF=table        only print allow.txt as a Markdown table (runs nothing)
//	MOTHREADS_BASHDIFF_CASES=REGEXP run only the cases whose names match
//	MOTHREADS_BASHDIFF_JOBS=N       cases run at once (default 4)
//	MOTHREADS_BASHDIFF_OUT=FILE     write what report, all or table print to FILE
//
// go test shows what a passing test prints only with -v; hence
// MOTHREADS_BASHDIFF_OUT.
func TestBashdiff(t *testing.T) {
	mode := os.Getenv("MOTHREADS_BASHDIFF")
	if mode != "" && mode != "report" && mode != "all" && mode != "table" {
		t.Fatalf("MOTHREADS_BASHDIFF=%q: want report, all or table", mode)
	}
	corpus, err := loadCorpus(bdDir)
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	allow, err := loadAllowList(filepath.Join(bdDir, "allow.txt"))
	if err != nil {
		t.Fatalf("allow-list: %v", err)
	}
	if mode == "table" {
		bdPrint(t, bdTable(allow))
		return
	}
	names := map[string]bool{}
	for _, c := range corpus {
		names[c.name] = true
	}
	for name, a := range allow.entries {
		if !names[name] {
			t.Errorf("%s: the allow-list names case %q, which the corpus does not have", a.where, name)
		}
	}
	if filter := os.Getenv("MOTHREADS_BASHDIFF_CASES"); filter != "" {
		re, err := regexp.Compile(filter)
		if err != nil {
			t.Fatalf("MOTHREADS_BASHDIFF_CASES: %v", err)
		}
		var kept []*bdCase
		for _, c := range corpus {
			if re.MatchString(c.name) {
				kept = append(kept, c)
			}
		}
		corpus = kept
	}
	jobs := 4
	if s := os.Getenv("MOTHREADS_BASHDIFF_JOBS"); s != "" {
		if jobs, err = strconv.Atoi(s); err != nil || jobs < 1 {
			t.Fatalf("MOTHREADS_BASHDIFF_JOBS=%q: want a positive number", s)
		}
	}
	if _, err := exec.LookPath("perl"); err != nil {
		t.Fatalf("the differential test starts its processes through perl (to block SIGCHLD as a parent can): %v", err)
	}

	h := newBDHarness(t)
	results := h.runAll(corpus, jobs)

	var sum bdSummary
	for _, r := range results {
		sum.add(r, allow.entries[r.c.name])
		t.Run(r.c.name, func(t *testing.T) { r.check(t, allow.entries[r.c.name]) })
	}
	t.Log(sum.line())
	if mode != "" {
		bdPrint(t, bdReport(results, allow, sum, mode == "all"))
	}
}

// bdHarness runs cases: it holds the env, the shared daemon, and the base
// environment of every process.
type bdHarness struct {
	t      *testing.T
	e      *env
	socket string // the shared daemon's
	base   []string
	mu     sync.Mutex
	nOwn   int // own daemons started so far, to name their sockets
}

func newBDHarness(t *testing.T) *bdHarness {
	e := newEnv(t)
	h := &bdHarness{t: t, e: e, socket: e.socket}
	h.base = []string{"PATH=/usr/local/bin:/usr/bin:/bin", proctest.MarkerVar + "=" + e.marker}
	if raceEnabled {
		// Without it every race-enabled CLI sleeps a second before it exits.
		h.base = append(h.base, "GORACE=atexit_sleep_ms=0")
	}
	d, err := h.startDaemon(h.socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.stop(t, h.socket) })
	return h
}

// startDaemon starts mothreadsd with its default settings on socket, as a
// user would start it (through the launcher, in a home of its own, with the
// base environment), and waits until it serves. The test's cleanup kills
// it if it still runs then.
func (h *bdHarness) startDaemon(socket string) (*daemon, error) {
	home := filepath.Join(h.e.dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command("perl", "-e", bdLauncher, bin.mothreadsd, "mothreadsd", "--socket", socket)
	cmd.Dir = home
	cmd.Env = slices.Concat(h.base, []string{"HOME=" + home})
	d := &daemon{cmd: cmd, logs: new(proctest.Buffer), done: make(chan struct{})}
	cmd.Stderr = d.logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting mothreadsd: %w", err)
	}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	h.t.Cleanup(func() {
		// Still running here means that its stop failed; so does an exit
		// status other than 0: then its log tells why.
		killed := cmd.Process.Kill() == nil
		<-d.done
		if killed || d.err != nil {
			h.t.Logf("mothreadsd on %s, its log:\n%s", socket, d.logs)
		}
	})
	if !d.logs.WaitFor("msg=serving", daemonStartBound, d.done) {
		return nil, fmt.Errorf("mothreadsd on %s did not start serving; its log:\n%s", socket, d.logs)
	}
	return d, nil
}

// bdStop asks a daemon for an ordered shutdown (SIGTERM) and says how it
// failed: no exit within daemonStopBound, an exit status other than 0, or
// the socket left behind.
func bdStop(d *daemon, socket string) error {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(daemonStopBound):
		return fmt.Errorf("mothreadsd did not exit within %v of SIGTERM", daemonStopBound)
	}
	if d.err != nil {
		return fmt.Errorf("mothreadsd exit: %v, want status 0 after SIGTERM", d.err)
	}
	if _, err := os.Lstat(socket); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("socket %s still there after the daemon's shutdown (%v)", socket, err)
	}
	return nil
}

// runAll runs the cases, jobs at a time, and returns their results in the
// corpus's order.
func (h *bdHarness) runAll(corpus []*bdCase, jobs int) []*bdResult {
	results := make([]*bdResult, len(corpus))
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for i := range next {
				results[i] = h.runCase(corpus[i], i)
			}
		})
	}
	for i := range corpus {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// runCase runs every step of a case with bash, then with mothreads, in the
// same directory, seeded afresh for each side.
func (h *bdHarness) runCase(c *bdCase, i int) *bdResult {
	r := &bdResult{c: c}
	dir := filepath.Join(h.e.dir, "c", strconv.Itoa(i))
	env := bdEnviron(slices.Concat(h.base, []string{"HOME=" + dir}), c.env, dir)
	socket := h.socket
	if c.ownDaemon {
		h.mu.Lock()
		h.nOwn++
		socket = filepath.Join(h.e.dir, "o"+strconv.Itoa(h.nOwn), "d.sock")
		h.mu.Unlock()
		d, err := h.startDaemon(socket)
		if err != nil {
			r.err = err
			return r
		}
		defer func() { r.daemonErr = bdStop(d, socket) }()
	}
	for side := range 2 {
		if err := c.seed(dir); err != nil {
			r.err = fmt.Errorf("seeding %s: %w", dir, err)
			return r
		}
		for _, s := range c.steps {
			p := bdProc{dir: dir, env: env, stdin: c.stdin, hasStdin: c.hasStdin, reader: c.reader, merged: c.merged, timeout: c.timeout}
			if side == 0 {
				p.path = "/bin/bash"
				p.argv = []string{"bash", "-c", s.script}
				if s.argv != nil {
					p.argv = append([]string{"bash", "-c", `exec "$@"`, "bash"}, s.argv...)
				}
			} else {
				p.path = bin.mothreads
				p.argv = []string{"mothreads", "--socket", socket, "exec", "--no-autostart"}
				if c.hasStdin {
					p.argv = append(p.argv, "-i")
				}
				if s.argv != nil {
					p.argv = append(append(p.argv, "--"), s.argv...)
				} else {
					p.argv = append(p.argv, "-c", s.script)
				}
			}
			o, err := p.run()
			if err != nil {
				r.err = err
				return r
			}
			if side == 0 {
				r.bash = append(r.bash, o)
			} else {
				r.mt = append(r.mt, o)
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		r.err = fmt.Errorf("removing %s: %w", dir, err)
	}
	return r
}

// parts returns the parts (status, stdout, stderr) in which some step of
// the case differs, comparing them as they are or, with lines, after
// replacing every "line N" with "line #".
func (r *bdResult) parts(lines bool) map[string]bool {
	d := map[string]bool{}
	norm := func(b []byte) string {
		if lines {
			return bdLineRE.ReplaceAllString(string(b), "line #")
		}
		return string(b)
	}
	for i := range r.bash {
		b, m := r.bash[i], r.mt[i]
		if b.statusKey() != m.statusKey() {
			d["status"] = true
		}
		if norm(b.stdout) != norm(m.stdout) {
			d["stdout"] = true
		}
		if norm(b.stderr) != norm(m.stderr) {
			d["stderr"] = true
		}
	}
	return d
}

var bdLineRE = regexp.MustCompile(`\bline [0-9]+`)

// check fails t unless the case's differences are exactly what its
// allow-list entry a (nil: none) allows.
func (r *bdResult) check(t *testing.T, a *bdAllow) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v", r.c.where, r.err)
	}
	if r.daemonErr != nil {
		t.Errorf("%s: the case's own daemon: %v", r.c.where, r.daemonErr)
	}
	got := r.parts(false)
	switch {
	case len(got) == 0 && a == nil:
	case a == nil:
		t.Errorf("%s: mothreads differs from bash -c in %s, and the allow-list does not allow it:\n%s",
			r.c.where, partsString(got), r.diff())
	case len(got) == 0 && len(a.parts) == 0:
		t.Logf("%s: agrees on this run (the allow-list says the difference comes and goes)", a.where)
	case len(got) == 0:
		t.Errorf("%s: stale allow-list entry: case %s no longer differs from bash -c: remove it", a.where, r.c.name)
	case !a.allows(got):
		t.Errorf("%s: the allow-list allows %s for case %s, but it differs in %s: change the entry\n%s",
			a.where, a.spelling(), r.c.name, partsString(got), r.diff())
	}
}
