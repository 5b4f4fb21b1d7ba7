//go:build linux

package pool_test

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/internal/proctest"
	"github.com/mothreads/mothreads/pool"
)

// slowWriter is a consumer that takes pause over every write, as a client
// on a loaded machine or a slow network does.
type slowWriter struct {
	pause time.Duration
	proctest.Buffer
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.pause) // simulates a slow consumer; nothing to wait for
	return w.Buffer.Write(p)
}

// TestSlowConsumerGetsAllOutput: a command that has written all its output
// and exited, read by a consumer slower than the kill grace, still
// delivers every byte (C1). The pool used to stop reading once the grace
// after the command's end had passed, taking a slow consumer for a process
// that escaped the call: the end of the output was lost (found by TestLoad
// on a loaded machine).
func TestSlowConsumerGetsAllOutput(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, KillGrace: 20 * time.Millisecond})
	var want strings.Builder
	for i := 1; i <= 30000; i++ {
		want.WriteString(strconv.Itoa(i) + "\n")
	}
	for _, req := range []pool.Request{script("seq 30000"), argv("seq", "30000")} {
		out := &slowWriter{pause: 20 * time.Millisecond}
		req.Stdout = out
		res, err := p.Run(t.Context(), &req)
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || res.Signal != 0 {
			t.Errorf("%q%q: %v", req.Argv, req.Script, res)
		}
		if got := out.String(); got != want.String() {
			t.Errorf("%q%q: %d bytes of output, want %d", req.Argv, req.Script, len(got), want.Len())
		}
	}
}

// TestEscapedWriterIsAbandoned: a process that leaves the call's session
// and keeps its stdout does not hold the call open: the call ends about a
// kill grace after its main process, with the output written before.
func TestEscapedWriterIsAbandoned(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, KillGrace: 100 * time.Millisecond})
	var stdout, stderr proctest.Buffer
	// The escapee holds the call's stdout (fd 3 here) and says its pid once
	// it has left the session, so the call cannot end before that.
	req := script(`exec 3>&1; read -r pid < <(setsid sh -c 'echo $$; exec sleep 30 >&3 3>&-'); echo "$pid" >&2; echo before`)
	req.Stdout, req.Stderr = &stdout, &stderr
	done := make(chan struct{})
	var res *pool.Result
	var err error
	go func() {
		defer close(done)
		res, err = p.Run(t.Context(), &req)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the call waits for a process that left its session")
	}
	first, _, _ := strings.Cut(stderr.String(), "\n")
	if pid, perr := strconv.Atoi(first); perr == nil {
		syscall.Kill(pid, syscall.SIGKILL) // it escaped the call on purpose; the leak check waits for its end
	} else {
		t.Errorf("stderr %q, want the escaped pid", stderr.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || stdout.String() != "before\n" {
		t.Errorf("result %v, stdout %q; want exit 0 and \"before\\n\"", res, stdout.String())
	}
}

// TestSlowConsumerGetsAllTerminalOutput is TestSlowConsumerGetsAllOutput
// for a call on a terminal: what the terminal holds when the command ends
// is delivered too (it used to be dropped after the kill grace).
func TestSlowConsumerGetsAllTerminalOutput(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1, KillGrace: 20 * time.Millisecond})
	var want strings.Builder
	for i := 1; i <= 30000; i++ {
		want.WriteString(strconv.Itoa(i) + "\r\n") // the terminal's ONLCR
	}
	out := &slowWriter{pause: 20 * time.Millisecond}
	req := pool.Request{Argv: []string{"seq", "30000"}, TTY: &pool.WindowSize{Rows: 24, Cols: 80}, Stdout: out}
	res, err := p.Run(t.Context(), &req)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || res.Signal != 0 {
		t.Errorf("result %v", res)
	}
	if got := out.String(); got != want.String() {
		t.Errorf("%d bytes of output, want %d", len(got), want.Len())
	}
}

// TestBackgroundJobsLeaveNoShellNoise: a command's background subshells,
// killed at the end of the call, neither print anything the command did not
// write nor run the child's exit report. They inherited the child's EXIT
// trap, which bash runs when a signal kills a subshell: its first simple
// command made bash print "wait_for: No record of process N" on the
// command's stderr, and the report went to the call's status pipe.
func TestBackgroundJobsLeaveNoShellNoise(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	for i := range 40 {
		for _, s := range []string{"(exit 0) & echo x", "sleep 1 & echo x", "/bin/true & echo x", "{ sleep 1; } & echo x"} {
			o := run(t, p, script(s))
			if o.stdout != "x\n" || o.stderr != "" || o.ExitCode != 0 || o.Signal != 0 {
				t.Fatalf("call %d %q: stdout %q, stderr %q, %v", i, s, o.stdout, o.stderr, o.Result)
			}
		}
	}
}
