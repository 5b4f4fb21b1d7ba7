package pool

import (
	"maps"
	"slices"
	"strings"
)

// bashManaged are variables the shell maintains itself; the init script's
// "changes" to them are not changes the caller asked for.
var bashManaged = map[string]bool{"_": true, "SHLVL": true, "PWD": true, "OLDPWD": true}

// sessionEnv is what a session knows of its environment: what its shell was
// started with, what is exported after the init script ran, and the
// difference, which applies to every call.
type sessionEnv struct {
	now   map[string]string  // exported after init: what a call starts from
	delta map[string]*string // init's changes; nil value: init unset it
}

func newSessionEnv(start []string, after map[string]string) *sessionEnv {
	before := envMap(start)
	e := &sessionEnv{now: after, delta: map[string]*string{}}
	for k, v := range after {
		if old, ok := before[k]; (!ok || old != v) && !bashManaged[k] {
			e.delta[k] = &v
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok && !bashManaged[k] {
			e.delta[k] = nil
		}
	}
	return e
}

// envMap parses KEY=VALUE entries, skipping malformed entries and names that
// cannot be shell variables; a later entry wins, as in os/exec.
func envMap(list []string) map[string]string {
	m := make(map[string]string, len(list))
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if ok && validEnvName(k) {
			m[k] = v
		}
	}
	return m
}

// final returns the environment a call runs with: the caller's base (or the
// session's), then the init script's changes, then the call's own entries.
func (e *sessionEnv) final(req *Request, useBase bool) map[string]string {
	var f map[string]string
	if useBase && req.HasBaseEnv {
		f = envMap(req.BaseEnv)
		for k, v := range e.delta {
			if v == nil {
				delete(f, k)
			} else {
				f[k] = *v
			}
		}
	} else {
		f = maps.Clone(e.now)
	}
	for k, v := range envMap(req.Env) {
		f[k] = v
	}
	return f
}

// ops returns what to unset and what to export in a shell whose exported
// environment is e.now so that it becomes f. Both are sorted.
func (e *sessionEnv) ops(f map[string]string) (unset []string, set []string) {
	for k := range e.now {
		if _, ok := f[k]; !ok && k != "_" {
			unset = append(unset, k)
		}
	}
	for k, v := range f {
		if old, ok := e.now[k]; !ok || old != v {
			set = append(set, k+"="+v)
		}
	}
	slices.Sort(unset)
	slices.Sort(set)
	return unset, set
}

// environ turns a map into a KEY=VALUE list, sorted.
func environ(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
