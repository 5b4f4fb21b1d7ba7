package integration

import (
	"os"
	"os/exec"
	"path/filepath"
)

// goTool finds the go command: go test puts $GOROOT/bin first on PATH.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}
