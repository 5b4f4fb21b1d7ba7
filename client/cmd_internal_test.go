package client

import (
	"bytes"
	"strings"
	"testing"
)

func TestHeadTailKeepsStartAndEnd(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"short", []string{"ab", "c"}, "abc"},
		{"exactly head and tail", []string{"abcd", "efgh"}, "abcdefgh"},
		{"long in one write", []string{"abcdefghijklmnop"}, "abcd\n... omitting 8 bytes ...\nmnop"},
		{"long in small writes", strings.Split("abcdefghijklmnop", ""), "abcd\n... omitting 8 bytes ...\nmnop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &headTail{n: 4}
			for _, w := range tc.writes {
				if n, err := h.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if have := h.bytes(); !bytes.Equal(have, []byte(tc.want)) {
				t.Errorf("bytes() = %q, want %q", have, tc.want)
			}
		})
	}
}
