package integration

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/windows"
)

// BinDirEnv names a directory that holds mothreads.exe and mothreadsd.exe
// already built (by .ci/windows, which runs these tests under Wine, where
// there is no Go toolchain). Without it, TestMain builds them.
const BinDirEnv = "MOTHREADS_WINDOWS_BIN"

// Paths of the binaries under test, set once by TestMain before any test
// runs and only read afterwards.
var winBin struct{ mothreads, mothreadsd string }

// TestMain finds or builds the binaries, runs the tests, and fails when
// the test process leaks goroutines. In helper mode (winHelperEnv) the test
// binary is a helper program of the tests instead.
func TestMain(m *testing.M) {
	if mode := os.Getenv(winHelperEnv); mode != "" {
		os.Exit(runWinHelper(mode))
	}
	os.Exit(runWinMain(m))
}

func runWinMain(m *testing.M) int {
	dir := os.Getenv(BinDirEnv)
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mtbin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		build := exec.Command(goTool(), "build", "-o", tmp+string(filepath.Separator),
			"github.com/mothreads/mothreads/cmd/mothreads", "github.com/mothreads/mothreads/cmd/mothreadsd")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building the binaries: %v\n", err)
			return 1
		}
		dir = tmp
	}
	winBin.mothreads = filepath.Join(dir, "mothreads.exe")
	winBin.mothreadsd = filepath.Join(dir, "mothreadsd.exe")
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked: %v\n", err)
			code = 1
		}
	}
	return code
}

// runWinHelper is the test binary as a helper program:
//   - cat: copies stdin to stdout;
//   - tree: starts a copy of itself that sleeps, prints "PID CHILDPID" and
//     a line end, then sleeps too.
//
// The sleeps are what a long-running command does, not a wait in a test.
func runWinHelper(mode string) int {
	switch mode {
	case "cat":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "cat:", err)
			return 1
		}
		return 0
	case "tree":
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "tree:", err)
			return 1
		}
		child := exec.Command(self)
		child.Env = append(os.Environ(), winHelperEnv+"=sleep")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "tree:", err)
			return 1
		}
		fmt.Printf("%d %d\n", os.Getpid(), child.Process.Pid)
		time.Sleep(time.Hour)
		return 0
	case "sleep":
		time.Sleep(time.Hour)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// winTempDir is t.TempDir for a test that leaves only files and empty
// directories in it: the testing package's cleanup uses os.RemoveAll,
// which fails under Wine 8 (it deletes through FileDispositionInformationEx,
// which Wine does not implement).
func winTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mtwin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			os.Remove(filepath.Join(dir, e.Name()))
		}
		if err := os.Remove(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

// underWine reports whether the tests run under Wine, whose ntdll exports
// wine_get_version (Windows' does not).
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
