//go:build linux

package pool_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/mothreads/mothreads/internal/proctest"
	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

// crashHelperEnv makes the test binary run crashHelper instead of the tests.
const crashHelperEnv = "MOTHREADS_POOL_CRASH_HELPER"

// crashHelper runs a pool with calls in flight of every kind, says so, and
// waits to be killed.
func crashHelper() {
	root := threads.NewRoot("helper")
	p, err := pool.New(root, pool.Config{MinIdle: 2, MaxSessions: 4, Launcher: launcher()})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ctx := context.Background()
	for _, req := range []*pool.Request{
		{Script: "sleep 300 & bash -c 'sleep 300 & sleep 300'"}, // isolated, with grandchildren
		{Argv: []string{"sleep", "300"}},                        // direct spawn
		{Script: "sleep 300", Session: "sticky"},                // sticky session
	} {
		if _, err := p.Start(ctx, req); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	fmt.Println("ready")
	select {}
}

// C8: when the process that owns a pool dies by SIGKILL, every shell,
// command and grandchild it started dies with it.
func TestNothingSurvivesAKilledOwner(t *testing.T) {
	marker := proctest.NewMarker()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"=1", proctest.MarkerVar+"="+marker)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q", line)
	}
	if n := len(proctest.Marked(proctest.MarkerVar, marker)); n < 6 {
		t.Errorf("only %d processes carry the marker before the crash", n)
	}
	cmd.Process.Kill() // SIGKILL: no cleanup code of the pool runs
	cmd.Wait()
	proctest.AssertNoLeftovers(t, proctest.MarkerVar, marker, leftoverBound)
}
