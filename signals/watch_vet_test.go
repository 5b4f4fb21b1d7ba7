package signals_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVetReportsACopiedWatch checks that go vet's copylocks check reports a
// copy of a Watch, the trap of Watch's doc comment: a copy released as well
// drops a registration that another watcher still needs.
func TestVetReportsACopiedWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	goTool, err := exec.LookPath(filepath.Join(runtime.GOROOT(), "bin", "go"))
	if err != nil { // a test binary built elsewhere (the Windows tests under Wine)
		t.Skipf("no go tool to run vet with: %v", err)
	}
	out, err := exec.Command(goTool, "vet", "./testdata/watchcopy").CombinedOutput()
	if err == nil {
		t.Fatalf("go vet passed a copied Watch:\n%s", out)
	}
	if !strings.Contains(string(out), "copies lock value") || !strings.Contains(string(out), "signals.Watch") {
		t.Fatalf("go vet failed, but not on the copied Watch: %v\n%s", err, out)
	}
}
