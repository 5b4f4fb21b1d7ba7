//go:build linux

package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
)

// sentinelShell is the bash tool of most agents, at its best: one bash on
// pipes; a call writes the command and then an echo of a sentinel with the
// status, and reads (blocking, no polling) until the sentinel line.
type sentinelShell struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

const sentinel = "__AGENT_TOOL_END__"

func newSentinelShell(b *testing.B) *sentinelShell {
	cmd := exec.Command("bash", "--noprofile", "--norc")
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return &sentinelShell{cmd: cmd, in: in, out: bufio.NewReader(out)}
}

// run runs script and returns its output and status.
func (s *sentinelShell) run(b *testing.B, script string) (string, string) {
	if _, err := fmt.Fprintf(s.in, "%s\necho \"%s $?\"\n", script, sentinel); err != nil {
		b.Fatal(err)
	}
	var out strings.Builder
	for {
		line, err := s.out.ReadString('\n')
		if err != nil {
			b.Fatalf("sentinel shell: %v", err)
		}
		if rest, ok := strings.CutPrefix(line, sentinel+" "); ok {
			return out.String(), strings.TrimSpace(rest)
		}
		out.WriteString(line)
	}
}

func (s *sentinelShell) close() {
	s.in.Close()
	s.cmd.Wait()
}

// BenchmarkAgentStickyCall compares, in turns, one call in a sticky session
// through the daemon (Go client, Run over the Unix socket) with one call to
// a bash on a pipe with an echo sentinel (the common agent bash tool, here
// without its usual polling), for a builtin and for an external program,
// and reports both medians and the ratio, and, for reference, the median
// of an isolated call through the daemon. Under -race the daemon is
// race-enabled and the figures mean little.
func BenchmarkAgentStickyCall(b *testing.B) {
	for _, script := range []string{"echo hi", "/bin/true"} {
		b.Run(strings.ReplaceAll(script, "/", "_"), func(b *testing.B) { benchAgentCall(b, script) })
	}
}

func benchAgentCall(b *testing.B, script string) {
	socket := benchDaemon(b, "--min-idle", "1")
	ctx := context.Background()
	c, err := client.Dial(ctx, client.WithSocket(socket))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := &client.Request{Session: "bench", Script: script}
	if _, err := c.Run(ctx, req, 0); err != nil { // creates the session
		b.Fatal(err)
	}
	sh := newSentinelShell(b)
	defer sh.close()
	sh.run(b, script)

	isolated := &client.Request{Script: script}
	var viaDaemon, viaSentinel, viaIsolated []time.Duration
	for b.Loop() {
		t := time.Now()
		r, err := c.Run(ctx, req, 0)
		viaDaemon = append(viaDaemon, time.Since(t))
		if err != nil || !r.Success() {
			b.Fatalf("daemon call: %v %v", r, err)
		}
		t = time.Now()
		_, status := sh.run(b, script)
		viaSentinel = append(viaSentinel, time.Since(t))
		if status != "0" {
			b.Fatalf("sentinel call: status %s", status)
		}
		t = time.Now()
		r, err = c.Run(ctx, isolated, 0)
		viaIsolated = append(viaIsolated, time.Since(t))
		if err != nil || !r.Success() {
			b.Fatalf("isolated call: %v %v", r, err)
		}
	}
	med := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	b.ReportMetric(float64(med(viaDaemon).Microseconds()), "sticky-p50-µs")
	b.ReportMetric(float64(med(viaSentinel).Microseconds()), "sentinel-p50-µs")
	b.ReportMetric(float64(med(viaIsolated).Microseconds()), "isolated-p50-µs")
	b.ReportMetric(float64(med(viaDaemon))/float64(med(viaSentinel)), "sticky/sentinel-p50")
}
