//go:build linux

package bash

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The session protocol, in one place. session.bash is the other half; the
// tests in protocol_test.go drive it with no pool.
//
// An isolated session's shell is `bash --noprofile --norc -c BOOT bash`
// (bootIsolated) with:
//
//	fd 0     /dev/null
//	fd 1, 2  the diagnostics pipe (logged, never user output)
//	fd 4     the control socket (SOCK_STREAM): pool <-> shell
//	fd 5     the signal pipe: shell -> pool, "g " NAME "\n" for each signal
//	         sent to the shell that it passes on (see sigRelay)
//
// Once started it forks the forker, a subshell that reads the fork
// messages and forks the children for calls; the shell itself lets go of
// the control socket and waits. It is a subreaper, so what calls leave
// behind is reparented to it: its children other than the forker.
//
// A sticky session's shell is `bash --noprofile --norc -m -s`: it reads its
// commands from the control socket (fd 0 and fd 4), and fds 1 and 2 are a
// pseudo-terminal of the pool's, its controlling terminal.
//
// Pool -> shell, on the control socket:
//
//	block      = 8 decimal digits N, then N characters (ASCII only)
//	start      = [bootSticky] block(session.bash) block(mode) block(bash path)
//	             block(session dir) block(init script)
//	                                        (bootSticky for a sticky shell)
//	fork       = "f" slot(8 digits) token(32 hex) "\n"
//	                                        isolated: fork slot's child; its
//	                                        FIFOs are DIR/token.{o,e,i}
//	call       = stickyCall(slot, job)      sticky: run a call in the shell
//	quit       = end of stream (the pool closes its end)
//
// Shell -> pool, on the control socket:
//
//	found      = "i\0" field* "\0"           before the init script runs
//	info       = "I\0" status "\0" field* "\0"   after it (fields only on 0)
//	field      = tag ":" text "\0"           u: umask, l: ulimit -a, d: cwd,
//	                                         v: version, e: NAME=VALUE,
//	                                         b: builtin, f: function
//	forker     = "p " pid "\n"               isolated, after info: the shell's
//	                                         subshell that forks the children
//	                                         (the shell then closes fd 4)
//	forked     = "k " slot " " pid "\n"      the forker forked slot's child
//	ready      = "r " slot " " pid "\n"      written by the child itself, which
//	                                         keeps fd 4 until its call is set up
//	failed     = "F " slot "\n"              the child could not open its FIFOs
//	started    = "s " slot "\n"              the call's job is applied: from the
//	                                         child (isolated; it then closes
//	                                         fd 4) or the shell (sticky)
//	error      = "e " slot " " what "\n"     the job failed (what: cwd); an
//	                                         isolated child exits
//	done       = "d " slot " " status "\n"   sticky: the call's script ended
//	fence      = "z " slot " " status "\n"   sticky: the call's line is over
//	                                         (after done, or after an interrupt
//	                                         discarded it; then status is $?)
//
// Pool -> a child, on its FIFO i: block(job), then the call's stdin if it has
// one. A job is shell code (ASCII only; see encodeJob) that the child
// evaluates before the script.
//
// A child -> pool, on the FIFO DIR/PID.0 once its script has run to its end
// (see bootIsolated):
//
//	ended      = trap "\0" status "\n"       trap is `trap -p EXIT`
//
// An isolated call's exit status is the kernel's: nothing the script can
// write takes part in it. The script runs with descriptors 0, 1 and 2 only,
// as under bash -c, so bash's own descriptors (10 and up, for named
// descriptors and saved ones) are numbered as they would be there.

// bootIsolated and bootSticky are the -c text of a session's shell: they read
// session.bash from the control socket, evaluate it, and run the main loop.
// The call's script is evaluated by the boot line itself, at the top level
// of the -c string and on its first line, so that bash numbers its lines and
// names its errors as `bash -c` would.
//
// A script that runs to its end is followed by the end report, one command
// with one redirection (a cold shell takes tens of microseconds for each):
// the expansion of its FIFO's name, DIR/PID.0 (the session's directory, the
// child's pid), keeps the script's status, as an expansion is neither
// traced nor trapped; the command drops the script's DEBUG and RETURN traps
// and xtrace, and writes `trap -p EXIT`, NUL, the status and a newline. A
// trap's or a trace's output goes to the FIFO too, where it is text before
// the NUL: such a report ends nothing. The FIFO is opened only then, so the
// script runs with descriptors 0, 1 and 2 alone, as under bash -c. The
// child then exits with the status. A forked shell takes long to exit (its
// memory goes), and the pool ends the call at this report if the child has
// begun to exit with the status it reported, as the kernel says (see
// confirmExit): nothing written to the FIFO decides a status.
func bootIsolated(dir string) string {
	return bootHead + `&&{ (__mt_forker;while __mt_next;do (__mt_child||exit;: "$0";eval "$BASH_EXECUTION_STRING";{ \builtin trap - DEBUG RETURN;\builtin set +x;\builtin trap -p EXIT;\builtin printf '\0%s\n' "$__mt_x";} >|` + quote(dir) + `/"$BASHPID".$(((__mt_x=$?)*0)) 2>&1;\builtin exit "$__mt_x")&__mt_forked;done)&__mt_serve;}`
}

const (
	// bootHead reads session.bash as one block and evaluates it (see
	// __mt_rd: a length that is not all digits ends the shell).
	bootHead = `IFS= read -rN8 __mt_n<&4&&IFS= read -rN$((10#${__mt_n//[!0-9]/x})) __mt_p<&4&&eval "$__mt_p"`
	// bootSticky is the first line of a sticky shell's input (it reads its
	// commands from the control socket): it loads session.bash like the
	// isolated boot line.
	bootSticky = bootHead + "\n"
)

// stickyCall is the input that runs call slot in a sticky shell: the
// command line that applies its job (which follows it as a block) and
// evaluates its script, then the fence line (see session.bash).
func stickyCall(slot int, job string) []byte {
	b := append([]byte(nil), "eval \"$__mt_l\"\n"...)
	b = appendBlock(b, fmt.Sprintf("__mt_k=%d;%s", slot, job))
	return fmt.Appendf(b, "__mt_fence %d\n", slot)
}

// appendBlock appends text as a block: its length in eight digits, then it.
func appendBlock(b []byte, text string) []byte {
	return append(fmt.Appendf(b, "%08d", len(text)), text...)
}

// maxBlock is the largest block the eight digits can frame.
const maxBlock = 99_999_999

// forkLen is the length of a fork message; session.bash reads it with
// `read -N 42`.
const forkLen = 42

// forkMsg asks the forker to fork the child of slot, whose FIFOs are named
// by token (see __mt_next).
func forkMsg(slot int, token string) []byte {
	return fmt.Appendf(nil, "f%08d%32s\n", slot, token)
}

// report is one line from the shell (or a child) after the start.
type report struct {
	kind   byte // 'k', 'r', 'F', 's', 'd', 'e'
	slot   int
	pid    int // k, r
	status int // d
}

var errBadReport = errors.New("malformed report")

// parseReport parses one report line, without its "\n". Anything else is a
// protocol violation.
func parseReport(line string) (report, error) {
	f := strings.Split(line, " ")
	bad := func() (report, error) { return report{}, fmt.Errorf("%w: %q", errBadReport, truncate(line, 80)) }
	if len(f) < 2 || len(f[0]) != 1 {
		return bad()
	}
	r := report{kind: f[0][0]}
	want := 2
	switch r.kind {
	case 'k', 'r', 'd', 'e', 'z':
		want = 3
	case 'p':
		if len(f) != 2 {
			return bad()
		}
		v, err := strconv.Atoi(f[1])
		if err != nil || v <= 1 {
			return bad()
		}
		r.pid = v
		return r, nil
	case 'F', 's':
	default:
		return bad()
	}
	if len(f) != want {
		return bad()
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n <= 0 {
		return bad()
	}
	r.slot = n
	if want == 3 {
		if r.kind == 'e' {
			if f[2] != "cwd" {
				return bad()
			}
			return r, nil
		}
		v, err := strconv.Atoi(f[2])
		if err != nil || v < 0 || (r.kind == 'r' || r.kind == 'k') && v <= 1 {
			return bad()
		}
		if r.kind == 'r' || r.kind == 'k' {
			r.pid = v
		} else {
			r.status = v
		}
	}
	return r, nil
}

// shellState is what the shell reports about itself in a found or info
// record.
type shellState struct {
	status    int // info only: the init script's status
	umask     string
	limits    string
	dir       string
	version   string
	env       map[string]string
	builtins  []string
	functions []string
	forker    int // isolated, from the forker report after the info record
}

// readForker reads the forker report that follows an isolated shell's info
// record.
func readForker(r *bufio.Reader) (int, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("forker report: %w", err)
	}
	rep, err := parseReport(strings.TrimSuffix(line, "\n"))
	if err != nil || rep.kind != 'p' {
		return 0, fmt.Errorf("%w: want the forker report, got %q", errBadReport, truncate(line, 80))
	}
	return rep.pid, nil
}

// readRecord reads a found ("i") or info ("I") record.
func readRecord(r *bufio.Reader, kind byte) (*shellState, error) {
	field := func() (string, error) {
		s, err := r.ReadString(0)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		return s[:len(s)-1], nil
	}
	tag, err := field()
	if err != nil {
		return nil, err
	}
	if tag != string(kind) {
		return nil, fmt.Errorf("%w: record %q where %q was due", errBadReport, truncate(tag, 40), kind)
	}
	st := &shellState{env: map[string]string{}}
	if kind == 'I' {
		s, err := field()
		if err != nil {
			return nil, err
		}
		if st.status, err = strconv.Atoi(s); err != nil {
			return nil, fmt.Errorf("%w: init status %q", errBadReport, truncate(s, 40))
		}
	}
	for {
		f, err := field()
		if err != nil {
			return nil, err
		}
		if f == "" {
			return st, nil
		}
		tag, text, ok := strings.Cut(f, ":")
		if !ok || len(tag) != 1 {
			return nil, fmt.Errorf("%w: field %q", errBadReport, truncate(f, 40))
		}
		switch tag[0] {
		case 'u':
			st.umask = strings.TrimSpace(text)
		case 'l':
			st.limits = text
		case 'd':
			st.dir = text
		case 'v':
			st.version = text
		case 'e':
			if k, v, ok := strings.Cut(text, "="); ok {
				st.env[k] = v
			}
		case 'b':
			st.builtins = append(st.builtins, text)
		case 'f':
			st.functions = append(st.functions, text)
		default:
			return nil, fmt.Errorf("%w: field tag %q", errBadReport, tag)
		}
	}
}

// argvScript is the script that runs argv as a command (an internal command
// in argv form: a function or builtin): its words quoted, never re-split.
func argvScript(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quote(a)
		if a == "" {
			q[i] = "''"
		}
	}
	return strings.Join(q, " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
