//go:build linux

package integration

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestTCPFloodLeavesTheSocketServing is M6 against the real binary: 2,000
// idle connections to the TCP listener (20,000 exhausted the daemon's
// descriptors before, and calls on the Unix socket hung). The daemon holds
// at most --max-tcp-conns of them, and `mothreads exec` on the socket works
// during the flood.
func TestTCPFloodLeavesTheSocketServing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := filepath.Join(e.dir, "token")
	if err := os.WriteFile(tok, []byte("flood-test-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := e.startDaemon([]string{"--listen", "127.0.0.1:0", "--token-file", tok, "--max-tcp-conns", "50", "--tcp-auth-timeout", "30s"})
	m := regexp.MustCompile(`msg=serving .*listen=(\S+)`).FindStringSubmatch(d.logs.String())
	if m == nil {
		t.Fatalf("no TCP address in the log:\n%s", d.logs)
	}
	e.run("exec", "--no-autostart", "--", "true").want(t, 0) // sessions started and used
	before := openFDs(t, d.pid())
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 2000 {
		c, err := net.DialTimeout("tcp", m[1], 5*time.Second)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	if during := openFDs(t, d.pid()); during > before+50+8 {
		t.Errorf("the daemon holds %d descriptors during the flood (%d before, limit 50 connections)", during, before)
	}
	r := e.run("exec", "--no-autostart", "--", "echo", "still serving").want(t, 0)
	if r.stdout != "still serving\n" {
		t.Errorf("stdout %q", r.stdout)
	}
}
