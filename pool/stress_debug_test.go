//go:build linux

package pool_test

import (
	"os"
	"strings"
	"testing"

	"github.com/mothreads/mothreads/pool"
)

func TestDebugStressTrue(t *testing.T) {
	if os.Getenv("MT_STRESS") == "" {
		t.Skip()
	}
	for i := range 300 {
		t.Run("", func(t *testing.T) {
			p := testPool(t, pool.Config{MinIdle: 2})
			for _, s := range []string{"printf foo", `printf '\xff\xfe'`, "exit 5", "echo a >&2", "true"} {
				o := run(t, p, script(s))
				if o.ExitCode == 127 || strings.Contains(o.stderr, "No record") {
					t.Fatalf("iteration %d: %q -> %v", i, s, o.Result)
				}
			}
		})
	}
}
