//go:build unix

package daemon_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const goodToken = "0123456789abcdef-good"

func tokenDaemon(t *testing.T, cfg daemon.Config) *testDaemon {
	t.Helper()
	tokenFile := filepath.Join(shortTempDir(t), "token")
	if err := os.WriteFile(tokenFile, []byte(goodToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Listen, cfg.TokenFile = "127.0.0.1:0", tokenFile
	return startDaemon(t, cfg)
}

// closedWithin reports whether the peer closes c within bound.
func closedWithin(c net.Conn, bound time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(bound))
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			ne, ok := err.(net.Error)
			return !ok || !ne.Timeout()
		}
	}
}

// TestTCPConnectionLimits is M6 of the security report: idle
// unauthenticated connections were held forever and 20,000 of them took
// every descriptor. Now connections over MaxTCPConns are closed at once,
// the admitted ones are closed when they have not authenticated within
// TCPAuthTimeout, the refusals are logged a few lines a second with a count
// of the rest, and the Unix socket serves throughout.
func TestTCPConnectionLimits(t *testing.T) {
	d := tokenDaemon(t, daemon.Config{MaxTCPConns: 5, TCPAuthTimeout: 2 * time.Second})
	addr := d.tcpAddr(t)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 40 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The Unix socket serves while TCP is full.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.client.Status(ctx); err != nil {
		t.Errorf("Status over the socket during the flood: %v", err)
	}
	began := time.Now()
	closedAtOnce := 0
	for _, c := range conns[5:] {
		if closedWithin(c, time.Second) {
			closedAtOnce++
		}
	}
	if closedAtOnce != 35 {
		t.Errorf("%d of the 35 connections over the limit were closed at once", closedAtOnce)
	}
	for i, c := range conns[:5] {
		if !closedWithin(c, 2*time.Second+5*time.Second-time.Since(began)) {
			t.Errorf("admitted connection %d still open 5 s after its authentication time", i)
		}
	}
	d.logs.waitFor(t, "refusals not logged")
	logs := d.logs.String()
	if n := strings.Count(logs, "refused a TCP connection: too many connections"); n < 1 || n > 10 {
		t.Errorf("%d refusal lines in one second, want 1 to 10", n)
	}
	if !strings.Contains(logs, "closed a TCP connection: no authorised call within the time allowed") {
		t.Errorf("no line about the connections closed for not authenticating:\n%s", logs)
	}
	// Once the flood is over, a client with the token is served.
	if have := tcpStatus(t, addr, client.WithToken(goodToken)); have != codes.OK {
		t.Errorf("after the flood: %v, want OK", have)
	}
}

// TestWrongTokensThrottled is M6's token guessing: ~6,000 guesses a
// second were answered. Now an address gets a few tries, then one a
// second, and calls beyond are refused without their token being looked
// at.
func TestWrongTokensThrottled(t *testing.T) {
	d := tokenDaemon(t, daemon.Config{})
	addr := d.tcpAddr(t)
	c, err := client.Dial(context.Background(), client.WithAddress(addr), client.WithToken("0123456789abcdef-bad!"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	codesSeen := map[codes.Code]int{}
	began := time.Now()
	for range 60 {
		_, err := c.Status(context.Background())
		codesSeen[status.Code(err)]++
	}
	elapsed := time.Since(began)
	if answered, most := codesSeen[codes.Unauthenticated], 10+int(elapsed/time.Second)+1; answered < 10 || answered > most {
		t.Errorf("%d wrong tokens answered in %v, want 10 to %d (codes %v)", answered, elapsed, most, codesSeen)
	}
	if codesSeen[codes.ResourceExhausted] == 0 {
		t.Errorf("no call throttled: %v", codesSeen)
	}
	// The address is throttled, whatever token it sends now.
	if have := tcpStatus(t, addr, client.WithToken(goodToken)); have != codes.ResourceExhausted {
		t.Errorf("right token from the throttled address: %v, want ResourceExhausted", have)
	}
}

// TestTokenFileHygiene is L5: a token file others may read, or a short
// token, is refused.
func TestTokenFileHygiene(t *testing.T) {
	dir := shortTempDir(t)
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"open", goodToken, 0o644, "is readable or writable by its group or others (mode 0644)"},
		{"group", goodToken, 0o640, "(mode 0640)"},
		{"short", "a", 0o600, "the token in " + filepath.Join(dir, "short") + " is 1 bytes; use at least 16"},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := daemon.Config{Listen: "127.0.0.1:0", TokenFile: p}.Validate()
		if err == nil || !strings.Contains(err.Error(), "daemon config TokenFile: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte(goodToken), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (daemon.Config{Listen: "0.0.0.0:0", TokenFile: good}).Validate(); err == nil || !strings.Contains(err.Error(), "clear text") {
		t.Errorf("a cleartext token on every interface: %v, want a refusal", err)
	}
	if err := (daemon.Config{Listen: "0.0.0.0:0", TokenFile: good, InsecureCleartextToken: true}).Validate(); err != nil {
		t.Errorf("with InsecureCleartextToken: %v", err)
	}
}
