//go:build linux

package bash

import (
	"strconv"

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
