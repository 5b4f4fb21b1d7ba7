package proctest

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBufferWaitFor(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for _, s := range []string{"one ", "two ", "three "} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.Write([]byte(s))
		}()
	}
	if !b.WaitFor("three", time.Minute, nil) || !b.WaitFor("one", time.Minute, nil) {
		t.Errorf("WaitFor missed a write: %q", b.String())
	}
	wg.Wait()
	if b.WaitFor("four", time.Millisecond, nil) {
		t.Error("WaitFor found what was never written")
	}
	gone := make(chan struct{})
	close(gone)
	if b.WaitFor("four", time.Minute, gone) {
		t.Error("WaitFor found what was never written after gone")
	}
	if got := len(b.String()); got != len("one two three ") {
		t.Errorf("%d bytes, want %d", got, len("one two three "))
	}
}
