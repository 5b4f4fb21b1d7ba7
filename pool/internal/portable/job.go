//go:build unix

package portable

import (
	"strings"

	"github.com/mothreads/mothreads/pool/internal/driver"
)

// protocolVars are the session program's variables (session.bash): a call's
// child unsets them before anything of the call runs.
const protocolVars = "__mt_d __mt_i __mt_r __mt_v __mt_wf __mt_a __mt_b __mt_c __mt_e __mt_n __mt_t __mt_f __mt_p __mt_st __mt_in __mt_x __mt_fi __mt_fo __mt_fe __mt_w __mt_rc"

// jobText returns the shell code a call's child sources before it evals the
// script (held in __mt_s): it drops every trace of
// the session program, changes to dir (unless it is the session's own),
// applies the environment vars (nil: the session's own), sets the
// positional parameters (argv), and last restores the options, shopt
// settings and traps the init script left (__mt_o).
func (s *Shell) jobText(req *driver.Request, dir string, vars map[string]string) string {
	var b strings.Builder
	b.WriteString("builtin trap - CHLD\nbuiltin unset -f __mt_chld\nbuiltin unset -v " + protocolVars + "\n")
	if dir != s.cwd {
		b.WriteString("builtin cd -- " + quote(dir) + " || builtin exit 1\n")
	}
	unset, set := s.env.Ops(vars)
	if len(unset) > 0 {
		b.WriteString("builtin unset -v")
		for _, k := range unset {
			b.WriteString(" " + k)
		}
		b.WriteString("\n")
	}
	for _, kv := range set {
		b.WriteString("builtin export " + quote(kv) + "\n")
	}
	b.WriteString("builtin set --")
	script := req.Script
	if len(req.Argv) > 0 {
		for _, a := range req.Argv {
			b.WriteString(" " + quote(a))
		}
		script = `"$@"`
		if !s.internal[req.Argv[0]] {
			// The program replaces the child, as bash -c would run it:
			// its own status, a death by a signal included, is the call's.
			script = `command exec "$@"`
		}
	}
	b.WriteString("\nBASH_EXECUTION_STRING=" + quote(script) + "\n")
	b.WriteString("__mt_s=" + quote(script) + "\n")
	b.WriteString("builtin eval \"$__mt_o\"\nbuiltin unset -v __mt_o\n")
	return b.String()
}

// quote makes s one word of shell source, byte for byte.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
