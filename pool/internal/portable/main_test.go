//go:build unix

package portable

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// quote makes any bytes one shell word, as bash reads them back.
func TestQuote(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	for _, s := range []string{"", "a b", "it's", `'\''`, "\xff\xfe $HOME `x` \\ \n\t", "*"} {
		out, err := exec.Command(bash, "--noprofile", "--norc", "-c", "printf '%s' "+quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("quote(%q): bash read back %q (%v)", s, out, err)
		}
	}
}

// status maps the shell's end reports as the other drivers report ends.
func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		kind string
		code int
		exit int
		sig  syscall.Signal
	}{
		{"exit", 0, 0, 0},
		{"exit", 143, 143, 0},
		{"signal", 143, -1, syscall.SIGTERM},
		{"signal", 137, -1, syscall.SIGKILL},
		{"unknown", 3, 3, 0},
		{"unknown", 130, -1, syscall.SIGINT},
		{"unknown", -1, -1, 0},
	} {
		exit, sig, _ := status(tc.kind, tc.code)
		if exit != tc.exit || sig != tc.sig {
			t.Errorf("status(%s, %d) = %d, %v; want %d, %v", tc.kind, tc.code, exit, sig, tc.exit, tc.sig)
		}
	}
}

// A FIFO reader delivers everything up to the last writer's close, and a
// stopped one still delivers what the FIFO held.
func TestFIFOReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := openFIFOReader(path)
	if err != nil {
		t.Fatal(err)
	}
	w1, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("x", 40000)
	written := make(chan struct{})
	go func() {
		defer close(written)
		w1.WriteString(want)
		w1.Close()
	}()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != want {
		t.Errorf("read %d bytes (%v), want %d", len(got), err, len(want))
	}
	<-written
	r.Close()

	r, err = openFIFOReader(path)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	w2.WriteString("held")
	r.Close() // stopped while a writer still holds the FIFO
	got, err = io.ReadAll(r)
	if err != nil || string(got) != "held" {
		t.Errorf("stopped reader: %q, %v; want what the FIFO held", got, err)
	}
}
