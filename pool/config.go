package pool

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

// Config is a pool's policy. The zero value is usable: bash, no init script,
// no warm sessions, and the defaults below.
type Config struct {
	// Shell is the shell to run sessions with: a path or a name looked up in
	// PATH. Default "bash" ("cmd.exe" on Windows). Bash 4.4 or newer gets
	// warm sessions; any other POSIX shell runs each call as a fresh
	// `SHELL -c` process, which works but gains nothing from warmth.
	Shell string
	// Init is a script every new session runs once before serving calls (a
	// virtualenv, nvm, `module load`). Its environment, functions, aliases
	// and options are what every call sees. If it fails, the session fails
	// to start, with its output in the error.
	Init string
	// Driver chooses how sessions are run: "" picks by platform and shell
	// (on Linux the bash driver for bash, on macOS and the BSDs the
	// portable driver for bash 4.4 or newer, the POSIX driver for other
	// shells); "portable" forces the portable bash driver
	// (pool/internal/portable) on any Unix, which needs bash 4.4 or newer
	// as the Shell. Tests use it to run the portable driver on Linux.
	Driver string
	// Env is the environment sessions start with; nil means the process's.
	Env []string
	// Dir is the directory sessions start in; empty means the process's.
	Dir string
	// RuntimeDir is where per-session private directories (mode 0700) are
	// made: each call's FIFOs live there for the moment it takes the
	// session's shell to open them (on Windows the directory holds the
	// batch files of scripts of several lines). Empty means
	// $XDG_RUNTIME_DIR, else /dev/shm (a memory file system), else
	// os.TempDir(); on Windows always os.TempDir() (%TEMP%, the user's own),
	// and os.TempDir() too when Driver is "portable".
	RuntimeDir string
	// Launcher is the path of a program that calls Launch first thing in
	// main, usually the running binary (os.Executable()). Session shells
	// are started through it, which makes each one a child subreaper with
	// a clean signal state: every process a call leaves behind, even one
	// that moved to a process group or session of its own, stays in the
	// shell's process tree, where the pool finds and ends it cheaply.
	// Empty starts shells directly; leftovers are then found by session
	// id, which costs a scan of /proc at the end of each call and misses
	// processes that called setsid.
	Launcher string

	// MinIdle sessions are kept started and idle, ready for calls.
	MinIdle int
	// MaxSessions bounds the sessions, busy or idle, sticky ones included.
	// Zero means max(4, 2*GOMAXPROCS).
	MaxSessions int
	// MaxUses recycles a session after that many calls; zero means never.
	MaxUses int
	// MaxAge recycles a session older than that, once idle; zero means never.
	MaxAge time.Duration
	// MaxSticky bounds the sticky sessions, which count against
	// MaxSessions too. A new sticky session beyond it closes the least
	// recently used idle one (whose next call then starts afresh), or is
	// refused if all are busy. Zero means half of MaxSessions, at least 1,
	// so that isolated calls always have sessions of their own.
	MaxSticky int
	// StickyIdleTimeout closes a sticky session unused that long (a call
	// that creates one can ask for its own, Request.SessionIdleTimeout);
	// zero means IdleTimeout.
	StickyIdleTimeout time.Duration
	// IdleTimeout stops sessions idle longer than that beyond MinIdle, and
	// sticky sessions unused that long; zero means never.
	IdleTimeout time.Duration
	// QueueTimeout bounds how long a call waits for a free session when all
	// are busy and the pool is at MaxSessions. Zero means 30s.
	QueueTimeout time.Duration
	// DefaultTimeout bounds calls that set no timeout; zero means none.
	DefaultTimeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL when a call is timed
	// out or cancelled, and for leftovers at the end of a call. Zero means 2s.
	KillGrace time.Duration
	// DrainTimeout is how long Stop lets in-flight calls finish before
	// cancelling them. Zero means 10s.
	DrainTimeout time.Duration
	// StartTimeout bounds a session's start, init script included. Zero
	// means 60s.
	StartTimeout time.Duration

	// Limits on requests. A zero MaxRequestBytes means
	// DefaultMaxRequestBytes.
	Limits Limits
}

// DriverPortable is the Config.Driver value that forces the portable bash
// driver.
const DriverPortable = "portable"

// Config defaults.
const (
	DefaultQueueTimeout    = 30 * time.Second
	DefaultKillGrace       = 2 * time.Second
	DefaultDrainTimeout    = 10 * time.Second
	DefaultStartTimeout    = 60 * time.Second
	DefaultMaxRequestBytes = 4 << 20
)

// normalized returns c with defaults applied, or an error naming the first
// invalid field.
func (c Config) normalized() (Config, error) {
	for _, f := range []struct {
		name string
		v    int
	}{{"min_idle", c.MinIdle}, {"max_sessions", c.MaxSessions}, {"max_sticky", c.MaxSticky}, {"max_uses", c.MaxUses}, {"max_request_bytes", c.Limits.MaxRequestBytes}} {
		if f.v < 0 {
			return c, fmt.Errorf("config %s: negative value %d", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"max_age", c.MaxAge}, {"idle_timeout", c.IdleTimeout}, {"sticky_idle_timeout", c.StickyIdleTimeout}, {"queue_timeout", c.QueueTimeout},
		{"default_timeout", c.DefaultTimeout}, {"kill_grace", c.KillGrace}, {"drain_timeout", c.DrainTimeout},
		{"start_timeout", c.StartTimeout}} {
		if f.v < 0 {
			return c, fmt.Errorf("config %s: negative duration %v", f.name, f.v)
		}
	}
	switch {
	case c.Driver != "" && c.Driver != DriverPortable:
		return c, fmt.Errorf("config driver: unknown driver %q (want %q, or empty for the platform's choice)", c.Driver, DriverPortable)
	case c.Driver == DriverPortable && runtime.GOOS == "windows":
		return c, fmt.Errorf("config driver: the %q driver needs a Unix system", DriverPortable)
	case c.Driver == DriverPortable && c.RuntimeDir == "":
		c.RuntimeDir = os.TempDir()
	}
	if c.Shell == "" {
		c.Shell = defaultShell
	}
	if c.Env == nil {
		c.Env = os.Environ()
	}
	if c.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return c, fmt.Errorf("config dir: %w", err)
		}
		c.Dir = wd
	}
	if c.RuntimeDir == "" {
		c.RuntimeDir = defaultRuntimeDir()
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if c.MaxSticky == 0 {
		c.MaxSticky = max(1, c.MaxSessions/2)
	}
	if c.MaxSticky > c.MaxSessions {
		return c, fmt.Errorf("config max_sticky: %d is over max_sessions %d", c.MaxSticky, c.MaxSessions)
	}
	if c.StickyIdleTimeout == 0 {
		c.StickyIdleTimeout = c.IdleTimeout
	}
	if c.MinIdle > c.MaxSessions {
		return c, fmt.Errorf("config min_idle: %d is over max_sessions %d", c.MinIdle, c.MaxSessions)
	}
	c.QueueTimeout = orDefault(c.QueueTimeout, DefaultQueueTimeout)
	c.KillGrace = orDefault(c.KillGrace, DefaultKillGrace)
	c.DrainTimeout = orDefault(c.DrainTimeout, DefaultDrainTimeout)
	c.StartTimeout = orDefault(c.StartTimeout, DefaultStartTimeout)
	if c.Limits.MaxRequestBytes == 0 {
		c.Limits.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return c, nil
}

// defaultRuntimeDir prefers a memory file system for session directories.
func defaultRuntimeDir() string {
	if runtime.GOOS == "windows" {
		// "/dev/shm" would be \dev\shm on the current drive, which may exist
		// (under Wine it is Linux's /dev/shm) but is nobody's private place.
		return os.TempDir()
	}
	for _, d := range []string{os.Getenv("XDG_RUNTIME_DIR"), "/dev/shm"} {
		if d == "" {
			continue
		}
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && writable(d) {
			return d
		}
	}
	return os.TempDir()
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".mothreads-probe-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
