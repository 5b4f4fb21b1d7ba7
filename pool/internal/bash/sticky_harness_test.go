//go:build linux

package bash

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mothreads/mothreads/pool/internal/driver"
)

// stickyResult is how a sticky call went, as the harness saw it.
type stickyResult struct {
	setup          report // "s" or "e"
	stdout, stderr string
	done           report // "d" (zero if the call failed to start)
	fence          report // "z": after "d" its status is that of the report itself (0)
}

// stickyCall runs call n in a sticky shell: the command line, the job and
// the fence on the control socket, the call's FIFOs made as the pool makes
// them, then the reports in their order.
func (h *harness) stickyCall(n int, j *job, stdin string) stickyResult {
	h.t.Helper()
	sl, err := newSlot(h.dir, n)
	if err != nil {
		h.t.Fatal(err)
	}
	defer sl.close()
	j.sticky, j.fifoPrefix, j.stdin = true, sl.prefix, stdin != ""
	h.send(stickyCall(n, encodeJob(j)))
	var res stickyResult
	if res.setup, err = h.report(); err != nil {
		h.t.Fatalf("call %d: set-up report: %v", n, err)
	}
	if res.setup.kind == 's' {
		if stdin != "" {
			go func() {
				sl.i.Write([]byte(stdin))
				sl.i.Close()
			}()
		}
		var wg sync.WaitGroup
		read := func(f *os.File, into *string) {
			defer wg.Done()
			f.SetReadDeadline(time.Now().Add(harnessWait))
			b, err := io.ReadAll(f)
			if err != nil {
				h.t.Errorf("call %d: output: %v", n, err)
			}
			*into = string(b)
		}
		wg.Add(2)
		go read(sl.o, &res.stdout)
		go read(sl.e, &res.stderr)
		wg.Wait()
		if res.done, err = h.report(); err != nil {
			h.t.Fatalf("call %d: done report: %v", n, err)
		}
	}
	if res.fence, err = h.report(); err != nil {
		h.t.Fatalf("call %d: fence report: %v", n, err)
	}
	return res
}

// TestHarnessStickySequence: a sticky session keeps what its calls change
// (variables, directory); a call whose directory cannot be entered fails
// before its script and changes nothing.
func TestHarnessStickySequence(t *testing.T) {
	h, info := startShell(t, true, "cd /tmp; x=0")
	if info.dir != "/tmp" || info.forker != 0 {
		t.Fatalf("sticky start: dir %q forker %d", info.dir, info.forker)
	}
	steps := []struct {
		job    *job
		stdin  string
		stdout string
		status int
	}{
		{&job{script: `x=5; cd /usr; echo "one $x $0"`}, "", "one 5 bash\n", 0},
		{&job{script: `echo "two $x $PWD $K"; false`, set: []string{"K=v \xff"}}, "", "two 5 /usr v \xff\n", 1},
		{&job{script: `read -r l; echo "got $l"`}, "in put\n", "got in put\n", 0},
		{&job{script: `echo "$x $PWD $K"; (exit 3)`, dir: "/"}, "", "5 / v \xff\n", 3},
	}
	for i, step := range steps {
		n := i + 1
		res := h.stickyCall(n, step.job, step.stdin)
		if res.setup != (report{kind: 's', slot: n}) || res.stdout != step.stdout || res.stderr != "" ||
			res.done != (report{kind: 'd', slot: n, status: step.status}) ||
			res.fence != (report{kind: 'z', slot: n}) {
			t.Errorf("call %d: %+v, want stdout %q status %d", n, res, step.stdout, step.status)
		}
	}
}

// TestHarnessStickyFailedCd: the "e" report, then the fence with the failed
// line's status; the shell's state is untouched and the next call runs.
func TestHarnessStickyFailedCd(t *testing.T) {
	h, _ := startShell(t, true, "cd /tmp; x=1")
	res := h.stickyCall(1, &job{dir: "/nonexistent dir", script: "x=2; echo ran", set: []string{"K=1"}}, "")
	if res.setup != (report{kind: 'e', slot: 1}) || res.done != (report{}) || res.fence != (report{kind: 'z', slot: 1, status: 1}) {
		t.Errorf("failed cd: %+v", res)
	}
	res = h.stickyCall(2, &job{script: `echo "$x $PWD ${K-unset}"`}, "")
	if res.stdout != "1 /tmp unset\n" || res.done.status != 0 {
		t.Errorf("after a failed cd: %+v", res)
	}
}

// TestHarnessStickyLargeJob: a job far larger than one read of the socket
// arrives whole (the shell reads its command line a byte at a time, and the
// block with read -N).
func TestHarnessStickyLargeJob(t *testing.T) {
	h, _ := startShell(t, true, "")
	var script strings.Builder
	for script.Len() < 300<<10 {
		script.WriteString(": 'padding \xe2\x80\x94 quoted byte by byte'\n")
	}
	script.WriteString("echo last line")
	res := h.stickyCall(1, &job{script: script.String()}, "")
	if res.stdout != "last line\n" || res.done.status != 0 || res.stderr != "" {
		t.Errorf("large job: stdout %q stderr %.200q done %+v", res.stdout, res.stderr, res.done)
	}
	res = h.stickyCall(2, &job{script: "echo next"}, "")
	if res.stdout != "next\n" {
		t.Errorf("after a large job: %+v", res)
	}
}

// TestHarnessStickyImitation: a sticky call runs in the shell itself and
// can write to the control socket (fd 4). A report it forges is out of
// turn for the pool (the real one follows it), which retires the session.
func TestHarnessStickyImitation(t *testing.T) {
	h, _ := startShell(t, true, "")
	sl, err := newSlot(h.dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.close()
	h.send(stickyCall(1, encodeJob(&job{sticky: true, fifoPrefix: sl.prefix, script: `echo "d $__mt_k 0" >&4; false`})))
	st := &stickyCalls{slot: 1}
	s := &Shell{spec: &driver.Spec{Sticky: true}, sticky: st}
	for err == nil && !st.fenced.Fired() {
		var r report
		if r, err = h.report(); err == nil {
			err = s.route(r)
		}
	}
	if !errors.Is(err, errBadReport) || st.status != 0 {
		t.Errorf("a forged report: %v (status %d), want the real one refused as out of turn", err, st.status)
	}
}
