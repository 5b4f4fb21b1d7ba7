package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRateLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		r := newRateLog(slog.New(slog.NewTextHandler(&out, nil)), 3)
		for range 100 {
			r.warn("refused")
		}
		if n := strings.Count(out.String(), "msg=refused"); n != 3 {
			t.Errorf("%d lines in the first second, want 3", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !strings.Contains(out.String(), `msg="refusals not logged (rate limit)" count=97 limit_per_second=3`) {
			t.Errorf("no count of the dropped lines:\n%s", out.String())
		}
		r.warn("refused")
		if n := strings.Count(out.String(), "msg=refused"); n != 4 {
			t.Errorf("%d lines after the window, want 4", n)
		}
		r.stop()
	})
}

func TestThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := newThrottle(3, time.Second, 2)
		for range 3 {
			if b, _ := th.blocked("a"); b {
				t.Fatal("blocked before its tries were spent")
			}
			th.failed("a")
		}
		b, wait := th.blocked("a")
		if !b || wait != time.Second {
			t.Errorf("after 3 failures: blocked %v for %v, want true for 1s", b, wait)
		}
		if b, _ := th.blocked("b"); b {
			t.Error("another address is blocked")
		}
		time.Sleep(time.Second)
		if b, _ := th.blocked("a"); b {
			t.Error("still blocked after a refill")
		}
		// Memory stays bounded: a third address sweeps the full buckets.
		th.failed("b")
		time.Sleep(10 * time.Second)
		th.failed("c")
		if len(th.peers) > 2 {
			t.Errorf("%d peers remembered, want at most 2", len(th.peers))
		}
	})
}
