//go:build unix

package proc

import (
	"regexp"
	"strconv"
	"testing"
)

// TestReaperRecord: every record the pool writes on the lifeline is as long
// as reaper.bash reads, whatever the session id, and reaper.bash reads that
// many bytes.
func TestReaperRecord(t *testing.T) {
	m := regexp.MustCompile(`read -r -N ([0-9]+) r`).FindStringSubmatch(reaperScript)
	if m == nil {
		t.Fatal("reaper.bash has no `read -r -N LEN r`")
	}
	if n, _ := strconv.Atoi(m[1]); n != reaperRecordLen {
		t.Errorf("reaper.bash reads %d bytes, records are %d", n, reaperRecordLen)
	}
	for _, sid := range []int{1, 4194304, 1<<31 - 1} {
		for _, op := range []byte{'+', '-'} {
			if r := reaperRecord(op, sid); len(r) != reaperRecordLen {
				t.Errorf("record %q is %d bytes, want %d", r, len(r), reaperRecordLen)
			}
		}
	}
}
