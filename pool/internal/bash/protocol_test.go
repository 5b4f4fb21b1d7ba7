//go:build linux

package bash

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The codec's tests: every encoder against the text of session.bash that
// decodes it, and every parser of the shell's reports. None of them runs a
// shell (see harness_test.go for those that do).

// readBlock decodes one block as __mt_rd does: eight decimal digits, then
// that many bytes.
func readBlock(r *bufio.Reader) (string, error) {
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return "", err
	}
	n, err := strconv.ParseUint(string(head[:]), 10, 32)
	if err != nil {
		return "", fmt.Errorf("block length %q: %w", head, err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

func TestAppendBlockFramesEightDigits(t *testing.T) {
	for _, text := range []string{"", "a", "echo hi\n", strings.Repeat("x", 12345)} {
		b := appendBlock([]byte("prefix"), text)
		if !strings.HasPrefix(string(b), "prefix") {
			t.Fatalf("appendBlock dropped what it appends to: %q", b[:12])
		}
		head := string(b[6:14])
		if want := fmt.Sprintf("%08d", len(text)); head != want {
			t.Errorf("len %d: header %q, want %q", len(text), head, want)
		}
		got, err := readBlock(bufio.NewReader(strings.NewReader(string(b[6:]))))
		if err != nil || got != text {
			t.Errorf("len %d: read back %d bytes, %v", len(text), len(got), err)
		}
	}
	// Blocks follow one another with nothing between them.
	b := appendBlock(appendBlock(nil, "one"), "two")
	if string(b) != "00000003one00000003two" {
		t.Errorf("two blocks: %q", b)
	}
}

// TestMaxBlockIsWhatEightDigitsHold: a block of maxBlock bytes still has an
// eight-digit header; one more byte would not (the shell would read a
// wrong length), so maxBlock is the bound for anything sent as a block.
func TestMaxBlockIsWhatEightDigitsHold(t *testing.T) {
	if got := len(strconv.Itoa(maxBlock)); got != 8 {
		t.Fatalf("maxBlock %d has %d digits, want 8", maxBlock, got)
	}
	if got := len(strconv.Itoa(maxBlock + 1)); got != 9 {
		t.Fatalf("maxBlock+1 has %d digits: maxBlock is not the largest", got)
	}
	if testing.Short() {
		t.Skip("allocates 200 MB")
	}
	b := appendBlock(nil, strings.Repeat("x", maxBlock))
	if string(b[:8]) != "99999999" || len(b) != 8+maxBlock {
		t.Errorf("block of maxBlock bytes: header %q, length %d", b[:8], len(b))
	}
}

// fnBody returns the body of the shell function name in session.bash.
func fnBody(t *testing.T, name string) string {
	t.Helper()
	re := regexp.MustCompile(`(?ms)^` + regexp.QuoteMeta(name) + `\(\) \{\n(.*?)^\}$`)
	m := re.FindStringSubmatch(sessionProgram)
	if m == nil {
		t.Fatalf("session.bash has no function %s", name)
	}
	return m[1]
}

// TestForkMessageMatchesSessionBash ties forkMsg to the shell's reader of
// it, __mt_next: the width it reads (read -N), where it takes the slot and
// the token from. A change to one side fails here.
func TestForkMessageMatchesSessionBash(t *testing.T) {
	body := fnBody(t, "__mt_next")
	m := regexp.MustCompile(`read -r -N (\d+) -u 4 l\b`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("__mt_next does not read the message with read -r -N WIDTH -u 4 l:\n%s", body)
	}
	width, _ := strconv.Atoi(m[1])
	if width != forkLen {
		t.Errorf("session.bash reads %d characters, forkLen is %d", width, forkLen)
	}
	if !strings.Contains(body, "[[ $l == f"+strings.Repeat("[0-9]", 8)+"* && ${l:9:32} != *[!0-9a-f]* && ${l:41} == $'\\n' ]] || return 1") {
		t.Errorf("__mt_next does not refuse a message that is not 'f', 8 digits, 32 hex digits, '\\n':\n%s", body)
	}
	slotAt := regexp.MustCompile(`__mt_k=\$\(\(10#\$\{l:(\d+):(\d+)\}\)\)`).FindStringSubmatch(body)
	tokenAt := regexp.MustCompile(`__mt_t=\$__mt_dir/\$\{l:(\d+):(\d+)\}`).FindStringSubmatch(body)
	if slotAt == nil || tokenAt == nil {
		t.Fatalf("__mt_next: cannot find where it takes the slot and the token:\n%s", body)
	}
	token := strings.Repeat("0123456789abcdef", 2)
	for _, slot := range []int{1, 42, 12345678, 99_999_999} {
		msg := string(forkMsg(slot, token))
		if len(msg) != forkLen {
			t.Errorf("forkMsg(%d): %d bytes, want forkLen %d: %q", slot, len(msg), forkLen, msg)
			continue
		}
		if msg[0] != 'f' || msg[forkLen-1] != '\n' {
			t.Errorf("forkMsg(%d) = %q: want 'f' ... '\\n'", slot, msg)
		}
		sub := func(at []string) string {
			off, _ := strconv.Atoi(at[1])
			n, _ := strconv.Atoi(at[2])
			return msg[off : off+n]
		}
		if got, err := strconv.ParseInt(sub(slotAt), 10, 64); err != nil || int(got) != slot {
			t.Errorf("forkMsg(%d): the shell would read slot %q", slot, sub(slotAt))
		}
		if got := sub(tokenAt); got != token {
			t.Errorf("forkMsg(%d): the shell would read token %q", slot, got)
		}
	}
	// The slot has eight digits: slot 10^8 would shift the token by one
	// and the shell would read garbage. A session would need 10^8 calls
	// to get there; this pins the limit down.
	if n := len(forkMsg(maxBlock+1, token)); n == forkLen {
		t.Errorf("forkMsg(10^8) is %d bytes: update this test and the limit it documents", n)
	}
}

// TestBlockReadersMatchAppendBlock: the boot line and __mt_rd read the
// eight digits that appendBlock writes, as a decimal number even with
// leading zeros (10#).
func TestBlockReadersMatchAppendBlock(t *testing.T) {
	if !strings.Contains(bootHead, `read -rN8 __mt_n<&4`) || !strings.Contains(bootHead, `read -rN$((10#${__mt_n//[!0-9]/x})) __mt_p<&4`) {
		t.Errorf("bootHead does not read an eight-digit block: %s", bootHead)
	}
	rd := fnBody(t, "__mt_rd")
	if !strings.Contains(rd, `read -r -N 8 -u 4 __mt_n`) || !strings.Contains(rd, `read -r -N "$((10#${__mt_n//[!0-9]/x}))" -u 4 "$1"`) {
		t.Errorf("__mt_rd does not read an eight-digit block:\n%s", rd)
	}
	child := fnBody(t, "__mt_child")
	if !strings.Contains(child, `read -r -N 8 BASH_EXECUTION_STRING`) || !strings.Contains(child, `read -r -N "$((10#${BASH_EXECUTION_STRING//[!0-9]/x}))" BASH_EXECUTION_STRING`) {
		t.Errorf("__mt_child does not read its job as an eight-digit block:\n%s", child)
	}
	// The boot line's stream: the program, then four blocks that
	// session.bash reads in this order with __mt_rd.
	start := regexp.MustCompile(`(?m)^__mt_rd (\w+) \|\| exit 200$`).FindAllStringSubmatch(sessionProgram, -1)
	var names []string
	for _, m := range start {
		names = append(names, m[1])
	}
	if want := "__mt_mode BASH __mt_dir __mt_j"; strings.Join(names, " ") != want {
		t.Errorf("session.bash reads the start blocks %v, want %s (mode, bash path, dir, init)", names, want)
	}
}

// TestStickyCallFraming: a sticky call is the command line that runs
// $__mt_l, the job as a block that __mt_call reads (with the slot number
// first), then the fence line.
func TestStickyCallFraming(t *testing.T) {
	job := "BASH_EXECUTION_STRING=$'echo \\'hi\\''\n"
	b := stickyCall(17, job)
	r := bufio.NewReader(strings.NewReader(string(b)))
	line, err := r.ReadString('\n')
	if err != nil || line != "eval \"$__mt_l\"\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	block, err := readBlock(r)
	if err != nil || block != "__mt_k=17;"+job {
		t.Fatalf("job block %q, %v", block, err)
	}
	fence, err := r.ReadString('\n')
	if err != nil || fence != "__mt_fence 17\n" {
		t.Fatalf("fence line %q, %v", fence, err)
	}
	if rest, _ := io.ReadAll(r); len(rest) != 0 {
		t.Errorf("trailing bytes %q", rest)
	}
	// The shell's side: $__mt_l starts with __mt_call, which reads the
	// block with __mt_rd, and the fence names the slot it is given.
	if !strings.Contains(sessionProgram, `__mt_l='__mt_call&&{ eval "$BASH_EXECUTION_STRING"`) {
		t.Error("session.bash's __mt_l does not start with __mt_call")
	}
	if !strings.Contains(fnBody(t, "__mt_call"), "__mt_rd __mt_j || return 1") {
		t.Error("__mt_call does not read the job block with __mt_rd")
	}
	if !strings.Contains(fnBody(t, "__mt_fence"), `\builtin printf 'z %s %s\n' "$1" "$__mt_rc" >&4`) {
		t.Error("__mt_fence does not report its argument as the slot")
	}
}
