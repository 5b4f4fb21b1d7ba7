package pool

import (
	"maps"
	"slices"
	"strings"
	"sync"
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
	list  []string           // now as a sorted KEY=VALUE list, made on first use
	once  sync.Once
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
// It returns nil when that is exactly the session's own (the common case,
// which then costs nothing).
func (e *sessionEnv) final(req *Request, useBase bool) map[string]string {
	if len(req.Env) == 0 && !(useBase && req.HasBaseEnv) {
		return nil
	}
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
	if f == nil {
		return nil, nil
	}
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

// environ returns f (nil: the session's own) as a KEY=VALUE list, with
// extra entries appended.
func (e *sessionEnv) environ(f map[string]string, extra ...string) []string {
	if f != nil {
		return append(environ(f), extra...)
	}
	e.once.Do(func() { e.list = environ(e.now) })
	return append(e.list[:len(e.list):len(e.list)], extra...)
}

// lookup returns f's value for key (nil f: the session's).
func (e *sessionEnv) lookup(f map[string]string, key string) string {
	if f != nil {
		return f[key]
	}
	return e.now[key]
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
