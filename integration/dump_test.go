//go:build linux

package integration

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDumpNamesEveryGoroutine: SIGUSR1's dump of an idle, warm daemon lists
// its threads (main/spawner among them: the spawner's locked thread is a
// Thread) and every goroutine in it carries the thread label of its owner,
// but os/signal's own and the one writing the dump. A goroutine without an
// owner is one that no ordered shutdown waits for.
func TestDumpNamesEveryGoroutine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.startDaemon(nil)
	if !d.logs.WaitFor("the pool is warm", daemonStartBound, d.done) {
		t.Fatalf("the pool did not get warm")
	}
	from := len(d.logs.String())
	// The dump is written between the first and the second "dumping" line:
	// Main handles one signal at a time.
	for n := 1; n <= 2; n++ {
		if err := d.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(daemonStartBound)
		for {
			changed := d.logs.Changed()
			if strings.Count(d.logs.String()[from:], "dumping goroutine stacks") >= n {
				break
			}
			select {
			case <-changed:
			case <-d.done:
				t.Fatalf("the daemon exited before its dump %d", n)
			case <-deadline:
				t.Fatalf("no dump %d within %v of SIGUSR1", n, daemonStartBound)
			}
		}
	}
	text := d.logs.String()[from:]
	start := strings.Index(text, "=== live threads\n")
	end := strings.Index(text[start+1:], "dumping goroutine stacks")
	if start < 0 || end < 0 {
		t.Fatalf("dump not found in the log:\n%s", text)
	}
	dump := text[start : start+1+end]
	threads, goroutines, ok := strings.Cut(strings.TrimPrefix(dump, "=== live threads\n"), "=== goroutines\n")
	if !ok {
		t.Fatalf("dump without its goroutines:\n%s", dump)
	}
	live := strings.Fields(threads)
	for _, want := range []string{"main", "main/pool", "main/server", "main/spawner"} {
		if !slices.Contains(live, want) {
			t.Errorf("live threads %v lack %s", live, want)
		}
	}
	for _, record := range strings.Split(goroutines, "\n\n") {
		if !strings.Contains(record, " @ ") || strings.Contains(record, "# labels: {\"thread\":") {
			continue
		}
		if strings.Contains(record, "os/signal.signal_recv") || strings.Contains(record, "threads.dumpStacks") {
			continue
		}
		t.Errorf("a goroutine without an owning thread:\n%s", record)
	}
}
