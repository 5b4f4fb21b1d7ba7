//go:build linux

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// Paths of the binaries under test, set once by TestMain before any test
// runs and only read afterwards.
var bin struct{ mothreads, mothreadsd string }

// TestMain builds both binaries once into a temporary directory (with -race
// when the tests run under it), runs the tests, and fails when the test
// process leaks goroutines.
func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mtbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/mothreads/mothreads/cmd/mothreads", "github.com/mothreads/mothreads/cmd/mothreadsd")
	build := exec.Command(goTool(), args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building the binaries: %v\n", err)
		return 1
	}
	bin.mothreads = filepath.Join(dir, "mothreads")
	bin.mothreadsd = filepath.Join(dir, "mothreadsd")
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked: %v\n", err)
			code = 1
		}
	}
	return code
}
