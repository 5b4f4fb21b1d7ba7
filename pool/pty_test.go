//go:build linux

package pool_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/mothreads/mothreads/internal/proctest"
	"github.com/mothreads/mothreads/pool"
)

// signalWriter collects output and closes seen once it contains want.
type signalWriter struct {
	proctest.Buffer
	want string
	once sync.Once
	seen chan struct{}
}

func newSignalWriter(want string) *signalWriter {
	return &signalWriter{want: want, seen: make(chan struct{})}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if strings.Contains(w.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

// A call with a terminal gets a controlling terminal of the size asked, and
// follows resizes while it runs.
func TestTerminal(t *testing.T) {
	p := testPool(t, pool.Config{MinIdle: 1})
	out := newSignalWriter("30 100")
	h, err := p.Start(t.Context(), &pool.Request{
		Script: `tty; stty size; while [ "$(stty size)" = "30 100" ]; do :; done; stty size; test -t 0 && echo stdin-is-tty`,
		TTY:    &pool.WindowSize{Rows: 30, Cols: 100},
		Stdout: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	<-out.seen
	h.Resize(pool.WindowSize{Rows: 40, Cols: 120})
	r, err := h.Wait()
	if err != nil || !r.Success() {
		t.Fatalf("%v %v", r, err)
	}
	text := strings.ReplaceAll(out.String(), "\r\n", "\n")
	for _, want := range []string{"/dev/pts/", "30 100\n", "40 120\n", "stdin-is-tty\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, text)
		}
	}
	// Input typed on the terminal reaches the command.
	o := run(t, p, pool.Request{Script: "read -r line; echo got:$line", TTY: &pool.WindowSize{Rows: 24, Cols: 80}, Stdin: strings.NewReader("typed\n")})
	if !strings.Contains(o.stdout, "got:typed") {
		t.Errorf("terminal input: %q", o.stdout)
	}
}
