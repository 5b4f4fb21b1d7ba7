//go:build linux

package integration

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestExecReaderStopsEarly: the CLI's stdout goes to a reader that stops
// after 10 bytes (`| head -c 10`). As under `bash -c`, the command goes on
// (its writes to that stream now fail), its stderr still arrives and its
// own exit status is the CLI's; the CLI does not die of SIGPIPE (issue 12).
func TestExecReaderStopsEarly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(r, make([]byte, 10))
		r.Close()
		read <- err
	}()
	cli := e.cli([]string{"exec", "-c", "head -c 1000000 /dev/zero; echo ended >&2; exit 3"})
	cli.Stdout = w
	res := e.runCmd(cli)
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	if res.code != 3 || !strings.Contains(res.stderr, "ended") {
		t.Errorf("exit status %d (%v), stderr %q; want 3 and \"ended\", as bash -c gives", res.code, cli.ProcessState, res.stderr)
	}
}
