//go:build linux

package bash

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mothreads/mothreads/pool/internal/driver"
)

// bashManaged are the variables that bash -c sets up itself from its
// environment and cwd, and that a job therefore sets up as bash -c would,
// not by copying: SHLVL (one more than the caller's), PWD (the directory
// the job changes to), OLDPWD (the caller's, or exported with no value) and
// _ (set by bash for each command).
var bashManaged = map[string]bool{"SHLVL": true, "PWD": true, "OLDPWD": true, "_": true}

// newJob works out what the child (or sticky shell) must do so that the
// call runs as `bash -c SCRIPT` would, started by the caller in its
// directory with its environment: dir is the call's directory (resolved),
// vars its environment (nil: the session's own).
func (s *Shell) newJob(req *driver.Request, dir string, vars map[string]string) *job {
	j := &job{stdin: req.Stdin != nil, check: req.Script != "" && !s.spec.Sticky}
	if dir != s.cwd || !s.spec.Sticky {
		j.dir = dir
	}
	if len(req.Argv) > 0 {
		j.script = argvScript(req.Argv)
	} else {
		j.script = req.Script
	}
	unset, set := s.env.Ops(vars)
	for _, k := range unset {
		if !bashManaged[k] {
			j.unset = append(j.unset, k)
		}
	}
	for _, kv := range set {
		if k, _, _ := cutName(kv); !bashManaged[k] {
			j.set = append(j.set, kv)
		}
	}
	lookup := func(k string) (string, bool) {
		if vars != nil {
			v, ok := vars[k]
			return v, ok
		}
		v, ok := s.env.Lookup(nil, k), s.env.Has(k)
		return v, ok
	}
	if vars != nil {
		// bash -c adds one to the SHLVL it was started with (1 if none).
		lvl, _ := lookup("SHLVL")
		n, err := strconv.Atoi(lvl)
		if err != nil || n < 0 {
			n = 0
		}
		j.shlvl = strconv.Itoa(n + 1)
	}
	j.oldpwd, j.hasOldpwd = lookup("OLDPWD")
	if be, ok := lookup("BASH_ENV"); ok && be != "" {
		j.bashEnv = be
	}
	return j
}

func cutName(kv string) (name, value string, ok bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// job is what a call asks of the child (or the sticky shell) that runs it.
type job struct {
	dir    string   // cd here first ("": stay)
	unset  []string // variables to unset
	set    []string // NAME=VALUE to export
	stdin  bool     // keep the input FIFO as stdin (else /dev/null)
	script string   // the script; BASH_EXECUTION_STRING
	// shlvl is the SHLVL the script sees (bash -c adds one to the caller's).
	shlvl string
	// oldpwd is the caller's OLDPWD; hasOldpwd says it had one.
	oldpwd    string
	hasOldpwd bool
	// bashEnv is sourced first, as bash -c sources $BASH_ENV.
	bashEnv string
	// check says to check the script's syntax first and, if it has an
	// error, run it as a real `bash -c` so the error reads the same.
	check bool
	// sticky jobs open the call's FIFOs (prefix, "" for none) as fds 58-60
	// instead of the header and the syntax check.
	sticky     bool
	fifoPrefix string
	// slot is the isolated call's slot, which its reports name.
	slot int
}

// encodeJob writes j as shell code. Every command is `\builtin ...` so that
// neither functions nor aliases of the session can change it, and every
// value is quoted by quote, so the code is ASCII whatever the bytes. An
// isolated child runs it on the caller's time, from caches that its idle
// wait has cooled, where each command costs tens of microseconds: it is as
// few commands as can do the work, with one redirection for all the ones
// that may complain.
func encodeJob(j *job) string {
	var b strings.Builder
	w := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
		b.WriteByte('\n')
	}
	if j.sticky {
		in := "/dev/null"
		if j.stdin {
			in = j.fifoPrefix + ".i"
		}
		w(`\command exec 58<`, quote(in), ` 59>`, quote(j.fifoPrefix+".e"), ` 60>`, quote(j.fifoPrefix+".o"))
	} else {
		w(`BASH_EXECUTION_STRING=`, quote(j.script))
	}
	// The environment changes run with stderr to /dev/null (a readonly
	// variable of the session cannot be exported, say). In an isolated
	// child their standard output is the control socket, which the set-up
	// report goes to: none of them writes there (cd is given an absolute
	// directory, so it never follows CDPATH and never prints).
	var env []string
	if j.dir != "" {
		fail := fmt.Sprintf(`{ \builtin printf 'e %d cwd\n'; \builtin exit 0; }`, j.slot)
		if j.sticky {
			fail = `__mt_fail=cwd`
		}
		env = append(env, `\builtin cd -- `+quote(j.dir)+` || `+fail)
	}
	if len(j.unset) > 0 {
		env = append(env, `\builtin unset -v `+strings.Join(j.unset, " "))
	}
	if len(j.set) > 0 || j.shlvl != "" || !j.sticky && j.hasOldpwd {
		var e strings.Builder
		e.WriteString(`\builtin export`)
		for _, kv := range j.set {
			k, v, _ := strings.Cut(kv, "=")
			e.WriteString(" " + k + "=" + quote(v))
		}
		if j.shlvl != "" {
			e.WriteString(" SHLVL=" + quote(j.shlvl))
		}
		if !j.sticky && j.hasOldpwd {
			e.WriteString(" OLDPWD=" + quote(j.oldpwd))
		}
		env = append(env, e.String())
	}
	if !j.sticky && !j.hasOldpwd {
		env = append(env, `\builtin unset -v OLDPWD; \builtin export OLDPWD`)
	}
	if j.sticky {
		switch {
		case j.dir != "" && len(env) > 1:
			// A call whose directory cannot be entered changes nothing
			// of the shell's environment.
			w(`{ if \builtin cd -- `, quote(j.dir), `; then `, strings.Join(env[1:], "; "), `; else __mt_fail=cwd; fi; } 2>/dev/null`)
		case len(env) > 0:
			w(`{ `, strings.Join(env, "; "), `; } 2>/dev/null`)
		}
		w(`BASH_EXECUTION_STRING=`, quote(j.script))
		return b.String()
	}
	if j.check {
		// A script that does not parse runs as a real bash -c, which
		// reports the error as `bash: -c: line N:` and runs what came
		// before it; SHLVL is taken back as that bash adds one again.
		// The check parses the script as the body of a command that does
		// not run (eval's status is 1 then, 2 on a syntax error). A script
		// that may turn extglob on is parsed with it on, as its patterns
		// would be once it has.
		check := `\builtin eval "false && { $BASH_EXECUTION_STRING` + "\n" + `}" || (( $? == 1 )) || __mt_c=bad`
		if strings.Contains(j.script, "extglob") {
			check = `\builtin shopt -q extglob && __mt_x=-s || __mt_x=-u; \builtin shopt -s extglob; ` + check +
				`; \builtin shopt "$__mt_x" extglob; \builtin unset -v __mt_x`
		}
		env = append(env, check)
	}
	// The set-up report, on the group's standard output.
	env = append(env, fmt.Sprintf(`\builtin printf 's %d\n'`, j.slot))
	w(`{ `, strings.Join(env, "; "), `; } >&4 2>/dev/null`)
	// Then the control socket goes: the script starts
	// with the descriptors of bash -c.
	closeFDs := `\command exec 4>&-`
	if !j.stdin {
		closeFDs += " 0</dev/null"
	}
	if j.check {
		// Not [[: after an eval that failed on an unmatched quote, bash
		// no longer takes [[ for a reserved word in the same eval.
		w(`\builtin test -z "${__mt_c-}" || { \builtin unset -v __mt_c; \builtin export SHLVL=$((SHLVL-1)); `, closeFDs, `; \builtin exec -a bash -- "$BASH" -c "$BASH_EXECUTION_STRING"; }`)
	}
	w(closeFDs)
	w(`BASH_SUBSHELL=0 SECONDS=0`)
	if j.bashEnv != "" {
		w(`\builtin . `, quote(j.bashEnv))
	}
	return b.String()
}

// quote quotes s for bash as $'...' with only printable ASCII inside: every
// other byte is an escape, so the job's characters are its bytes in any
// locale. s must not contain a NUL byte (requests are checked for that).
func quote(s string) string {
	if s != "" && !slices.ContainsFunc([]byte(s), needsQuote) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	b = append(b, "$'"...)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20 && c < 0x7f:
			b = append(b, c)
		default:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return string(append(b, '\''))
}

const hexDigits = "0123456789abcdef"

// needsQuote reports whether c is anything but a character that is safe
// unquoted in every position of a word.
func needsQuote(c byte) bool {
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '/' || c == '.' || c == '_' || c == '-' || c == '+' || c == ',' || c == ':' || c == '@' || c == '%')
}

// encodeChecked is encodeJob, or an error if the code is too large for a
// block's framing (maxBlock: a request with no size limit, or whose values
// quote grows past it).
func encodeChecked(j *job) (string, error) {
	code := encodeJob(j)
	if len(code) > maxBlock {
		return "", &driver.RequestError{Field: "command", Kind: driver.TooLarge,
			Problem: fmt.Sprintf("the command and its environment take %d bytes as shell code, over the session protocol's %d", len(code), maxBlock)}
	}
	return code, nil
}
