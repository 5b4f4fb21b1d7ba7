package cmdexe

// The platform-neutral logic of the cmd.exe driver (shell_windows.go,
// run_windows.go): command lines that cmd.exe parses, batch text, the start
// script and the dump of a session's environment after its init script,
// Windows' case-insensitive environment, and the names a command search
// tries. It has no build constraint so that its tests run on any machine;
// only the Windows driver uses it.

import (
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/mothreads/mothreads/pool/internal/driver"
)

// cmdMaxLine is the longest command line cmd.exe accepts, in characters.
const cmdMaxLine = 8191

// cmdBuiltins are cmd.exe's internal commands. An argv whose program is one
// of them runs through cmd.exe, as at its prompt: there is no such program.
var cmdBuiltins = map[string]bool{
	"assoc": true, "break": true, "call": true, "cd": true, "chdir": true, "cls": true, "color": true,
	"copy": true, "date": true, "del": true, "dir": true, "dpath": true, "echo": true, "endlocal": true,
	"erase": true, "exit": true, "for": true, "ftype": true, "goto": true, "if": true, "keys": true,
	"md": true, "mkdir": true, "mklink": true, "move": true, "path": true, "pause": true, "popd": true,
	"prompt": true, "pushd": true, "rd": true, "rem": true, "ren": true, "rename": true, "rmdir": true,
	"set": true, "setlocal": true, "shift": true, "start": true, "time": true, "title": true,
	"type": true, "ver": true, "verify": true, "vol": true,
}

func isCmdBuiltin(name string) bool { return cmdBuiltins[strings.ToLower(name)] }

// isCmdName reports whether path names cmd.exe ("cmd", "CMD.EXE",
// `C:\Windows\System32\cmd.exe`).
func isCmdName(path string) bool {
	base := path[strings.LastIndexAny(path, `\/:`)+1:]
	return strings.EqualFold(base, "cmd") || strings.EqualFold(base, "cmd.exe")
}

// cmdQuote quotes one argument of a command line that cmd.exe parses (a
// builtin's, or a batch file's): in double quotes when it is empty or holds
// white space or a character cmd.exe treats specially, as it is otherwise.
// cmd.exe cannot escape a double quote inside quotes, expands %NAME% even
// there, and ends a command at a line break, so an argument holding '"',
// '%', CR or LF cannot be passed on exactly: that is an error, never a
// silent change.
func cmdQuote(arg string) (string, error) {
	if i := strings.IndexAny(arg, "\"%\r\n\x00"); i >= 0 {
		return "", fmt.Errorf("holds %q, which cmd.exe cannot pass on exactly; use a script instead", arg[i:i+1])
	}
	if arg == "" || strings.ContainsAny(arg, " \t&|<>^(),;=!") {
		return `"` + arg + `"`, nil
	}
	return arg, nil
}

// cmdArgv composes the command cmd.exe runs for an argv: argv[0] as it is for
// a builtin (quoted, cmd.exe would look for a program of that name), or
// program, quoted, for a batch file or another file cmd.exe opens; then the
// arguments, each through cmdQuote. On error, bad is the index in argv of
// the argument at fault.
func cmdArgv(argv []string, program string) (line string, bad int, err error) {
	var b strings.Builder
	if program == "" {
		b.WriteString(argv[0])
	} else {
		if strings.ContainsAny(program, "\"%") {
			return "", 0, fmt.Errorf("the path %q holds a character cmd.exe would change", program)
		}
		b.WriteString(`"` + program + `"`)
	}
	for i, a := range argv[1:] {
		q, err := cmdQuote(a)
		if err != nil {
			return "", i + 1, err
		}
		b.WriteByte(' ')
		b.WriteString(q)
	}
	return b.String(), 0, nil
}

// cmdLine is the command line that runs rest through cmd.exe at shell, with
// the given switches (/d: no AutoRun commands from the registry). With /s,
// cmd.exe removes the first and the last quote and runs what is between
// exactly as it is.
func cmdLine(shell, switches, rest string) string {
	return `"` + shell + `" ` + switches + ` /s /c "` + rest + `"`
}

// inlineScript returns the command line that runs script on cmd.exe's command
// line, as `cmd /c` would, and false if it does not fit there: a script of
// several lines (cmd.exe runs only the first line of its command line) or
// one too long for it runs from a batch file instead (batchText). A line
// break at the very end does not count.
func inlineScript(shell, switches, script string) (string, bool) {
	script = strings.TrimRight(script, "\r\n")
	if strings.ContainsAny(script, "\r\n") {
		return "", false
	}
	line := cmdLine(shell, switches, script)
	if len(line) > cmdMaxLine { // bytes >= UTF-16 units: a safe bound
		return "", false
	}
	return line, true
}

// batchText turns a script into the text of a batch file: echo off (as on
// cmd.exe's command line), and CRLF line ends, which cmd.exe needs for labels
// and GOTO to work.
func batchText(script string) []byte {
	return []byte("@echo off\r\n" + crlf(script))
}

// crlf turns every line end into CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// startScript starts a cmd.exe session (start.cmd in the session's
// directory): it calls the init script, with its output in init.log, stops
// with the init script's status if that is not 0, and otherwise has a second
// cmd.exe (%1, with /u: its output to a file is UTF-16) write the directory
// and the environment the init script left. %~dp0 is the directory of
// start.cmd itself, whose expansion cmd.exe does not expand again. The file
// is kept with LF line ends; cmd.exe gets CRLF.
var startScript = crlf(startScriptLF)

//go:embed start.cmd
var startScriptLF string

// cmdUnsafePath reports why a path cannot appear in a command line or batch
// file that cmd.exe expands ('%' and '!' start expansions even inside
// quotes), or nil.
func cmdUnsafePath(p string) error {
	if i := strings.IndexAny(p, "%!\""); i >= 0 {
		return fmt.Errorf("the path %q holds %q, which cmd.exe would expand", p, p[i:i+1])
	}
	return nil
}

// decodeCmdText decodes what `cmd /u` wrote to a file: UTF-16LE, without a
// byte order mark. Text that does not look so (odd length, or a first
// character that is not ASCII) is returned as it is.
func decodeCmdText(b []byte) string {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe {
		b = b[2:]
	}
	if len(b)%2 != 0 || len(b) < 2 || b[1] != 0 {
		return string(b)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// parseEnvDump reads what the start script wrote: the output of `cd`, then of
// `set`. Each variable is NAME=VALUE and a CRLF. A value with CRLF in it
// spans lines; a line without '=' continues the previous value, which
// recovers such values unless a continuation line holds '=' itself.
func parseEnvDump(b []byte) (cwd string, env []string, err error) {
	text := strings.TrimSuffix(decodeCmdText(b), "\r\n")
	lines := strings.Split(text, "\r\n")
	cwd = lines[0]
	if cwd == "" {
		return "", nil, errors.New("the environment dump is empty")
	}
	for _, line := range lines[1:] {
		if i := strings.IndexByte(line, '='); i > 0 || len(env) == 0 {
			if i > 0 {
				env = append(env, line)
			}
			continue
		}
		env[len(env)-1] += "\r\n" + line
	}
	return cwd, env, nil
}

// parseVer reads the version out of cmd.exe's `ver`:
// "Microsoft Windows [Version 10.0.22631.4317]" gives "10.0.22631.4317",
// and Wine's "Microsoft Windows 6.1.7601" (no brackets) gives "6.1.7601".
func parseVer(out string) string {
	i, j := strings.LastIndexByte(out, '['), strings.LastIndexByte(out, ']')
	if i < 0 || j < i {
		i, j = -1, len(out)
	}
	f := strings.Fields(out[i+1 : j])
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// winEnv is an environment under Windows' rules: names compare without regard
// to case, and a variable keeps the spelling of its name when it is set
// again (cmd.exe's `set PATH=...` changes "Path"). Unlike envMap it keeps
// every name Windows allows, such as "ProgramFiles(x86)".
type winEnv map[string]envVar // by upper-case name

type envVar struct{ name, value string }

// cutEnvEntry splits KEY=VALUE. An empty name, which is how the per-drive
// directories Windows keeps in the environment ("=C:=C:\dir") parse, is not
// a variable that a call inherits: ok is false.
func cutEnvEntry(kv string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(kv, "=")
	return name, value, ok && name != ""
}

func newWinEnv(list []string) winEnv {
	e := winEnv{}
	for _, kv := range list {
		if k, v, ok := cutEnvEntry(kv); ok {
			e.set(k, v)
		}
	}
	return e
}

func (e winEnv) set(name, value string) {
	key := strings.ToUpper(name)
	if old, ok := e[key]; ok {
		name = old.name
	}
	e[key] = envVar{name, value}
}

func (e winEnv) get(name string) string { return e[strings.ToUpper(name)].value }

func (e winEnv) has(name string) bool {
	_, ok := e[strings.ToUpper(name)]
	return ok
}

// list returns KEY=VALUE entries sorted by upper-case name, the order
// CreateProcess documents for an environment block.
func (e winEnv) list() []string {
	keys := slices.Sorted(maps.Keys(e))
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = e[k].name + "=" + e[k].value
	}
	return out
}

// cmdManaged are variables cmd.exe sets itself: their appearance after the
// init script is not a change the init script made.
var cmdManaged = map[string]bool{"PROMPT": true}

// cmdEnv is what a cmd.exe session knows of its environment: what it was
// started with, and what its init script changed, which applies to every
// call. It is sessionEnv under Windows' rules.
type cmdEnv struct {
	start winEnv
	delta map[string]*envVar // by upper-case name; nil: the init script removed it
}

func newCmdEnv(start, after []string) *cmdEnv {
	before, now := newWinEnv(start), newWinEnv(after)
	e := &cmdEnv{start: before, delta: map[string]*envVar{}}
	for k, v := range now {
		if old, ok := before[k]; (!ok || old.value != v.value) && !cmdManaged[k] {
			e.delta[k] = &v
		}
	}
	for k := range before {
		if _, ok := now[k]; !ok && !cmdManaged[k] {
			e.delta[k] = nil
		}
	}
	return e
}

// final returns the environment a call runs with: the caller's base (when
// the request has one) or the session's, then the init script's changes,
// then the call's own entries.
func (e *cmdEnv) final(req *driver.Request) winEnv {
	var f winEnv
	if req.HasBaseEnv {
		f = newWinEnv(req.BaseEnv)
	} else {
		f = maps.Clone(e.start)
	}
	for k, v := range e.delta {
		if v == nil {
			delete(f, k)
		} else {
			f.set(v.name, v.value)
		}
	}
	for _, kv := range req.Env {
		if k, v, ok := cutEnvEntry(kv); ok {
			f.set(k, v)
		}
	}
	return f
}

// pathExts parses PATHEXT into lower-case extensions, with cmd.exe's default
// when it is empty.
func pathExts(pathext string) []string {
	var out []string
	for _, e := range strings.Split(strings.ToLower(pathext), ";") {
		if e = strings.TrimSpace(e); strings.HasPrefix(e, ".") && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		out = []string{".com", ".exe", ".bat", ".cmd"}
	}
	return out
}

// extOf returns the extension of the last element of a Windows path, with
// its dot, or "".
func extOf(name string) string {
	base := name[strings.LastIndexAny(name, `\/:`)+1:]
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		return base[i:]
	}
	return ""
}

// hasPathSep reports whether a command name is a path (it names a directory
// or a drive) rather than a name to search for.
func hasPathSep(name string) bool { return strings.ContainsAny(name, `\/:`) }

// programCandidates lists the file names a command search tries for name, in
// order: name as it is if its extension is one of exts, then name with each
// of exts appended.
func programCandidates(name string, exts []string) []string {
	var out []string
	if slices.Contains(exts, strings.ToLower(extOf(name))) {
		out = append(out, name)
	}
	for _, e := range exts {
		out = append(out, name+e)
	}
	return out
}

// searchDirs lists the directories a command search looks in, as cmd.exe
// does: the current directory first unless noCwd
// (NoDefaultCurrentDirectoryInExePath is set), then PATH, whose entries
// may be quoted.
func searchDirs(path, cwd string, noCwd bool) []string {
	var out []string
	if !noCwd {
		out = append(out, cwd)
	}
	for _, d := range strings.Split(path, ";") {
		if d = strings.Trim(strings.TrimSpace(d), `"`); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// runsDirectly reports whether CreateProcess runs a file itself; anything
// else (a batch file, a script with a file association) is run through
// cmd.exe, as cmd.exe runs it at its prompt.
func runsDirectly(path string) bool {
	ext := strings.ToLower(extOf(path))
	return ext == ".exe" || ext == ".com"
}

// isUNC reports whether a directory is a UNC path, which cmd.exe refuses as
// its current directory (it warns on stderr and runs in the Windows
// directory instead).
func isUNC(dir string) bool {
	return strings.HasPrefix(dir, `\\`) || strings.HasPrefix(dir, "//")
}
