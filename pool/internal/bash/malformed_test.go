//go:build linux

package bash

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The shell's side of the protocol refuses what the pool would never send,
// before it runs anything (see __mt_next, __mt_rd).

// TestHarnessMalformedMessages: anything but a fork message ends the
// forker, and with it the session, before it runs anything. The messages
// try to run `pwned`, a program on the shell's PATH that leaves a mark.
func TestHarnessMalformedMessages(t *testing.T) {
	token := strings.Repeat("ab", 16)
	pad := func(s string) string { return s + strings.Repeat(" ", forkLen-1-len(s)) + "\n" }
	msgs := map[string]string{
		"a report":                       pad("s 1"),
		"a ready report":                 pad("r 1 4242"),
		"quit":                           "q\n",
		"shell code":                     pad("$(pwned)"),
		"a command":                      pad("pwned"),
		"letters for the slot":           "fabcdefgh" + token + "\n",
		"arithmetic in the slot":         "f1+a[`p`]" + token + "\n",
		"a command substitution as slot": "f$(pwned)" + token + "\n",
		"spaces in the token":            "f00000001" + strings.Repeat(" ", 32) + "\n",
		"a path in the token":            "f00000001" + pad("../../../../../../tmp/x")[:32] + "\n",
		"shell code in the token":        "f00000001" + pad("$(pwned)")[:32] + "\n",
		"no newline at the end":          "f00000001" + token + "x",
		"non-UTF-8":                      "f00000001" + strings.Repeat("\xff", 32) + "\n",
	}
	for name, msg := range msgs {
		t.Run(name, func(t *testing.T) {
			bin, mark := pwnedBin(t)
			h, _ := startShell(t, false, "PATH="+bin+":$PATH")
			h.send([]byte(msg))
			if len(msg) < forkLen {
				// Not a whole message: the shell waits for the rest.
				h.shutWrite()
			}
			if r, err := h.report(); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("after %q: report %+v, %v; want the end of the stream", msg, r, err)
			}
			if err := h.waitExit(); err != nil {
				t.Errorf("shell exit: %v", err)
			}
			if _, err := os.Stat(mark); err == nil {
				t.Fatalf("%q ran a command", msg)
			}
			if ents, _ := os.ReadDir(h.dir); len(ents) != 0 {
				t.Errorf("the session directory has %d entries", len(ents))
			}
		})
	}
}

// TestHarnessMalformedStart: a start block whose length is not eight digits
// ends the shell before it runs anything.
func TestHarnessMalformedStart(t *testing.T) {
	for name, rest := range map[string]string{
		"letters":            "0000000aisolated",
		"arithmetic":         "1+a[`p`]isolated",
		"a sign":             "+0000008isolated",
		"too short a length": "00000009isolated",
		"cut short":          "0000",
	} {
		t.Run(name, func(t *testing.T) {
			bin, mark := pwnedBin(t)
			h := launchShell(t, false, []string{"PATH=" + bin + ":/usr/bin:/bin"})
			h.send(append(appendBlock(nil, sessionProgram), rest...))
			h.shutWrite()
			if _, _, err := h.records(); err == nil {
				t.Error("the shell started")
			}
			h.waitExit()
			if _, err := os.Stat(mark); err == nil {
				t.Fatal("the start ran a command")
			}
		})
	}
}

// pwnedBin returns a directory with programs `pwned` and `p` that make the
// file mark.
func pwnedBin(t *testing.T) (bin, mark string) {
	bin = t.TempDir()
	mark = filepath.Join(bin, "mark")
	for _, name := range []string{"pwned", "p"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n: > "+mark+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin, mark
}
