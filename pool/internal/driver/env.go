package driver

import (
	"maps"
	"slices"
	"strings"
	"sync"
)

// bashManaged are variables the shell maintains itself; the init script's
// "changes" to them are not changes the caller asked for.
var bashManaged = map[string]bool{"_": true, "SHLVL": true, "PWD": true, "OLDPWD": true}

// SessionEnv is what a session knows of its environment: what its shell was
// started with, what is exported after the init script ran, and the
// difference, which applies to every call.
type SessionEnv struct {
	now   map[string]string  // exported after init: what a call starts from
	delta map[string]*string // init's changes; nil value: init unset it
	list  []string           // now as a sorted KEY=VALUE list, made on first use
	once  sync.Once
}

// NewSessionEnv returns the environment of a session started with start
// whose init script left after exported.
func NewSessionEnv(start []string, after map[string]string) *SessionEnv {
	before := EnvMap(start)
	e := &SessionEnv{now: after, delta: map[string]*string{}}
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

// NewStaticEnv returns the environment of a session whose shell runs no
// init script before the calls: what it was started with, unchanged.
func NewStaticEnv(start []string) *SessionEnv {
	return &SessionEnv{now: EnvMap(start), delta: map[string]*string{}}
}

// EnvMap parses KEY=VALUE entries, skipping malformed entries and names that
// cannot be shell variables; a later entry wins, as in os/exec.
func EnvMap(list []string) map[string]string {
	m := make(map[string]string, len(list))
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if ok && ValidEnvName(k) {
			m[k] = v
		}
	}
	return m
}

// Final returns the environment a call runs with: the caller's base (or the
// session's), then the init script's changes, then the call's own entries.
// It returns nil when that is exactly the session's own (the common case,
// which then costs nothing).
func (e *SessionEnv) Final(req *Request, useBase bool) map[string]string {
	if len(req.Env) == 0 && !(useBase && req.HasBaseEnv) {
		return nil
	}
	var f map[string]string
	if useBase && req.HasBaseEnv {
		f = EnvMap(req.BaseEnv)
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
	for k, v := range EnvMap(req.Env) {
		f[k] = v
	}
	return f
}

// Ops returns what to unset and what to export in a shell whose exported
// environment is e.now so that it becomes f. Both are sorted.
func (e *SessionEnv) Ops(f map[string]string) (unset []string, set []string) {
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

// Environ returns f (nil: the session's own) as a KEY=VALUE list, with
// extra entries appended.
func (e *SessionEnv) Environ(f map[string]string, extra ...string) []string {
	if f != nil {
		return append(Environ(f), extra...)
	}
	e.once.Do(func() { e.list = Environ(e.now) })
	return append(e.list[:len(e.list):len(e.list)], extra...)
}

// Lookup returns f's value for key (nil f: the session's).
func (e *SessionEnv) Lookup(f map[string]string, key string) string {
	if f != nil {
		return f[key]
	}
	return e.now[key]
}

// Has reports whether the session's own environment has key.
func (e *SessionEnv) Has(key string) bool {
	_, ok := e.now[key]
	return ok
}

// Environ turns a map into a KEY=VALUE list, sorted.
func Environ(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
