package cmdexe

// Tests of the platform-neutral logic of the cmd.exe driver (text.go).
// They run on any machine; the driver itself is tested on Windows only
// (shell_windows_test.go, pool_windows_test.go).

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/mothreads/mothreads/pool/internal/driver"
)

func TestCmdlineQuote(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "plain", want: "plain"},
		{in: `C:\dir\file.txt`, want: `C:\dir\file.txt`},
		{in: "", want: `""`},
		{in: "a b", want: `"a b"`},
		{in: "a\tb", want: "\"a\tb\""},
		{in: "a&b", want: `"a&b"`},
		{in: "a|b", want: `"a|b"`},
		{in: "<in>", want: `"<in>"`},
		{in: "x^y", want: `"x^y"`},
		{in: "(x)", want: `"(x)"`},
		{in: "a,b;c=d", want: `"a,b;c=d"`},
		{in: "wow!", want: `"wow!"`},
		{in: `trailing\`, want: `trailing\`},
		{in: `say "hi"`, bad: true},
		{in: "50%", bad: true},
		{in: "%PATH%", bad: true},
		{in: "two\nlines", bad: true},
		{in: "cr\r", bad: true},
	} {
		got, err := cmdQuote(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("cmdQuote(%q): err = %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if got != tc.want {
			t.Errorf("cmdQuote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCmdlineArgv(t *testing.T) {
	line, _, err := cmdArgv([]string{"echo", "hello", "a b", "x&y"}, "")
	if err != nil || line != `echo hello "a b" "x&y"` {
		t.Errorf("builtin: %q, %v", line, err)
	}
	line, _, err = cmdArgv([]string{"build", "--out", `C:\my dir`}, `C:\Tools\build.bat`)
	if err != nil || line != `"C:\Tools\build.bat" --out "C:\my dir"` {
		t.Errorf("batch file: %q, %v", line, err)
	}
	_, bad, err := cmdArgv([]string{"echo", "ok", "100%"}, "")
	if err == nil || bad != 2 {
		t.Errorf("bad argument: index %d, err %v; want index 2 and an error", bad, err)
	}
	if _, bad, err := cmdArgv([]string{"x"}, `C:\50%\x.bat`); err == nil || bad != 0 {
		t.Errorf("program path with %%: index %d, err %v; want index 0 and an error", bad, err)
	}
}

func TestCmdlineLine(t *testing.T) {
	const shell = `C:\Windows\System32\cmd.exe`
	got := cmdLine(shell, "/d", `echo "a b" & exit /b 3`)
	want := `"C:\Windows\System32\cmd.exe" /d /s /c "echo "a b" & exit /b 3"`
	if got != want {
		t.Errorf("cmdLine = %q, want %q", got, want)
	}
	if line, ok := inlineScript(shell, "/d", "echo hi\r\n"); !ok || line != `"C:\Windows\System32\cmd.exe" /d /s /c "echo hi"` {
		t.Errorf("one line with a line end: %q, %v", line, ok)
	}
	if _, ok := inlineScript(shell, "/d", "echo a\necho b"); ok {
		t.Error("a script of two lines went on the command line")
	}
	if _, ok := inlineScript(shell, "/d", "echo a\recho b"); ok {
		t.Error("a script with a CR went on the command line")
	}
	if _, ok := inlineScript(shell, "/d", "echo "+strings.Repeat("x", cmdMaxLine)); ok {
		t.Error("a script over cmd.exe's line limit went on the command line")
	}
	if _, ok := inlineScript(shell, "/d", "echo "+strings.Repeat("x", 7000)); !ok {
		t.Error("a 7000-character line did not go on the command line")
	}
}

func TestCmdlineBatchText(t *testing.T) {
	got := string(batchText("echo a\necho b\r\n:label\r\ngoto :eof"))
	want := "@echo off\r\necho a\r\necho b\r\n:label\r\ngoto :eof"
	if got != want {
		t.Errorf("batchText = %q, want %q", got, want)
	}
	if strings.Contains(strings.ReplaceAll(startScript, "\r\n", ""), "\n") || !strings.HasSuffix(startScript, "\r\n") {
		t.Errorf("startScript has a line end other than CRLF: %q", startScript)
	}
}

func TestCmdlineNames(t *testing.T) {
	for name, want := range map[string]bool{
		"cmd": true, "CMD.EXE": true, `C:\Windows\System32\cmd.exe`: true, "c:/windows/system32/Cmd.Exe": true,
		"powershell.exe": false, `C:\cmd\bash.exe`: false, "cmd.bat": false, "xcmd.exe": false,
	} {
		if got := isCmdName(name); got != want {
			t.Errorf("isCmdName(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]bool{"echo": true, "ECHO": true, "Dir": true, "set": true, "git": false, "echo.exe": false} {
		if got := isCmdBuiltin(name); got != want {
			t.Errorf("isCmdBuiltin(%q) = %v, want %v", name, got, want)
		}
	}
	if got := parseVer("\r\nMicrosoft Windows [Version 10.0.22631.4317]\r\n"); got != "10.0.22631.4317" {
		t.Errorf("parseVer = %q", got)
	}
	if got := parseVer("Microsoft Windows [版本 10.0.19045.3803]"); got != "10.0.19045.3803" {
		t.Errorf("parseVer (localized) = %q", got)
	}
	if got := parseVer("\r\nMicrosoft Windows 6.1.7601\r\n"); got != "6.1.7601" {
		t.Errorf("parseVer (Wine's cmd.exe) = %q", got)
	}
	if got := parseVer(" \r\n"); got != "" {
		t.Errorf("parseVer (nothing) = %q", got)
	}
	for p, bad := range map[string]bool{`C:\Temp\mothreads-session-1-123`: false, `C:\100%\x`: true, `C:\wow!\x`: true} {
		if err := cmdUnsafePath(p); (err != nil) != bad {
			t.Errorf("cmdUnsafePath(%q) = %v, want error %v", p, err, bad)
		}
	}
	for p, want := range map[string]bool{`\\server\share`: true, "//server/share": true, `\\?\C:\x`: true, `C:\x`: false, `\x`: false} {
		if got := isUNC(p); got != want {
			t.Errorf("isUNC(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestCmdlineSearch(t *testing.T) {
	exts := pathExts(".COM;.EXE;.BAT;.CMD;.VBS;;.exe; .Py ")
	if want := []string{".com", ".exe", ".bat", ".cmd", ".vbs", ".py"}; !slices.Equal(exts, want) {
		t.Errorf("pathExts = %q, want %q", exts, want)
	}
	if got := pathExts(""); !slices.Equal(got, []string{".com", ".exe", ".bat", ".cmd"}) {
		t.Errorf("pathExts(\"\") = %q", got)
	}
	short := []string{".exe", ".cmd"}
	if got, want := programCandidates("git", short), []string{"git.exe", "git.cmd"}; !slices.Equal(got, want) {
		t.Errorf("programCandidates(git) = %q, want %q", got, want)
	}
	if got, want := programCandidates("Tool.EXE", short), []string{"Tool.EXE", "Tool.EXE.exe", "Tool.EXE.cmd"}; !slices.Equal(got, want) {
		t.Errorf("programCandidates(Tool.EXE) = %q, want %q", got, want)
	}
	if got, want := programCandidates(`C:\x.y\tool`, short), []string{`C:\x.y\tool.exe`, `C:\x.y\tool.cmd`}; !slices.Equal(got, want) {
		t.Errorf("programCandidates(dotted dir) = %q, want %q", got, want)
	}
	got := searchDirs(`C:\Windows\system32;;"C:\Program Files\Git\cmd"; C:\bin `, `C:\work`, false)
	if want := []string{`C:\work`, `C:\Windows\system32`, `C:\Program Files\Git\cmd`, `C:\bin`}; !slices.Equal(got, want) {
		t.Errorf("searchDirs = %q, want %q", got, want)
	}
	if got := searchDirs(`C:\bin`, `C:\work`, true); !slices.Equal(got, []string{`C:\bin`}) {
		t.Errorf("searchDirs without the current directory = %q", got)
	}
	for name, want := range map[string]bool{"git": false, `bin\git`: true, "./git": true, "C:git": true} {
		if got := hasPathSep(name); got != want {
			t.Errorf("hasPathSep(%q) = %v, want %v", name, got, want)
		}
	}
	for p, want := range map[string]bool{`C:\x\a.exe`: true, `C:\x\a.COM`: true, `C:\x\a.bat`: false, `C:\x\a.cmd`: false, `C:\x\a.vbs`: false, `C:\x.exe\a`: false} {
		if got := runsDirectly(p); got != want {
			t.Errorf("runsDirectly(%q) = %v, want %v", p, got, want)
		}
	}
}

// utf16le encodes s as `cmd /u` writes to a file.
func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func TestSetDumpParse(t *testing.T) {
	dump := "C:\\Users\\José\\work\r\n" +
		"ALLUSERSPROFILE=C:\\ProgramData\r\n" +
		"CommonProgramFiles(x86)=C:\\Program Files (x86)\\Common Files\r\n" +
		"EMPTY=\r\n" +
		"EQ=a=b==c\r\n" +
		"GREETING=こんにちは\r\n" +
		"MULTI=line one\r\n" +
		"line two\r\n" +
		"LF=a\nb\r\n" +
		"Path=C:\\Windows;C:\\bin\r\n" +
		"PROMPT=$P$G\r\n"
	cwd, env, err := parseEnvDump(utf16le(dump))
	if err != nil {
		t.Fatal(err)
	}
	if cwd != `C:\Users\José\work` {
		t.Errorf("cwd = %q", cwd)
	}
	want := []string{
		`ALLUSERSPROFILE=C:\ProgramData`,
		`CommonProgramFiles(x86)=C:\Program Files (x86)\Common Files`,
		"EMPTY=",
		"EQ=a=b==c",
		"GREETING=こんにちは",
		"MULTI=line one\r\nline two",
		"LF=a\nb",
		`Path=C:\Windows;C:\bin`,
		"PROMPT=$P$G",
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}

	// With a byte order mark, and as plain bytes (if /u had no effect).
	for name, b := range map[string][]byte{
		"bom":   append([]byte{0xff, 0xfe}, utf16le("C:\\x\r\nA=1\r\n")...),
		"bytes": []byte("C:\\x\r\nA=1\r\n"),
	} {
		cwd, env, err := parseEnvDump(b)
		if err != nil || cwd != `C:\x` || !slices.Equal(env, []string{"A=1"}) {
			t.Errorf("%s: cwd %q, env %q, err %v", name, cwd, env, err)
		}
	}
	if _, _, err := parseEnvDump(nil); err == nil {
		t.Error("an empty dump parsed")
	}
}

func TestSetEnvDelta(t *testing.T) {
	start := []string{
		"=C:=C:\\work", // a per-drive directory: not a variable
		"Path=C:\\Windows",
		"ProgramFiles(x86)=C:\\Program Files (x86)",
		"TEMP=C:\\Temp",
		"GONE=soon",
		"KEEP=same",
	}
	after := []string{
		"PATH=C:\\venv\\Scripts;C:\\Windows", // cmd.exe keeps the spelling; either way it is the same variable
		"ProgramFiles(x86)=C:\\Program Files (x86)",
		"TEMP=C:\\Temp",
		"KEEP=same",
		"VIRTUAL_ENV=C:\\venv",
		"PROMPT=$P$G", // added by cmd.exe itself
	}
	e := newCmdEnv(start, after)
	if len(e.delta) != 3 || e.delta["PATH"] == nil || e.delta["VIRTUAL_ENV"] == nil || e.delta["GONE"] != nil {
		t.Errorf("delta = %v", e.delta)
	}
	if _, ok := e.delta["GONE"]; !ok {
		t.Error("the removal of GONE is not in the delta")
	}

	// The session's own environment, then the call's entries.
	got := e.final(&driver.Request{Env: []string{"path=C:\\override", "NEW=1"}}).list()
	want := []string{
		"KEEP=same",
		"NEW=1",
		"Path=C:\\override",
		"ProgramFiles(x86)=C:\\Program Files (x86)",
		"TEMP=C:\\Temp",
		"VIRTUAL_ENV=C:\\venv",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("final (-want +got):\n%s", diff)
	}

	// The caller's base environment, with the init script's changes over it.
	got = e.final(&driver.Request{HasBaseEnv: true, BaseEnv: []string{
		"=D:=D:\\x", "path=C:\\caller", "gone=caller's", "CommonProgramFiles(x86)=C:\\cpf", "USERNAME=me",
	}}).list()
	want = []string{
		"CommonProgramFiles(x86)=C:\\cpf",
		"path=C:\\venv\\Scripts;C:\\Windows",
		"USERNAME=me",
		"VIRTUAL_ENV=C:\\venv",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("final with a base (-want +got):\n%s", diff)
	}

	// Without an init script nothing changes.
	if e := newCmdEnv(start, start); len(e.delta) != 0 {
		t.Errorf("delta without init = %v", e.delta)
	}
}

// TestStartScript: the embedded start.cmd reaches cmd.exe byte for byte as
// the script the driver was written with, with CRLF line ends whatever the
// checkout did to the file's.
func TestStartScript(t *testing.T) {
	want := "@echo off\r\n" +
		"call \"%~dp0init.cmd\" >\"%~dp0init.log\" 2>&1\r\n" +
		"if %errorlevel% neq 0 exit /b %errorlevel%\r\n" +
		"\"%~1\" /d /u /s /c \"cd & set\" >\"%~dp0env\"\r\n"
	if diff := cmp.Diff(want, startScript); diff != "" {
		t.Errorf("start script (-want +got):\n%s", diff)
	}
	if got := crlf(strings.ReplaceAll(startScriptLF, "\n", "\r\n")); got != want {
		t.Errorf("a CRLF checkout of start.cmd gives %q", got)
	}
}
