//go:build linux

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestExecNonUTF8 runs, through the CLI, a program whose name is not UTF-8
// in a working directory whose name is not UTF-8, with an argument, a
// script, an --env value and a variable of the caller's environment that
// are not UTF-8 either: each gets exactly what `bash -c` from the same
// caller gets (M7: one such byte used to fail every call with 125).
func TestExecNonUTF8(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startDaemon(nil)
	dir := filepath.Join(e.dir, "d\xe9j\xe0")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	prog := "caf\xe9\xff.sh"
	script := "#!/bin/sh\nprintf '%s\\0' \"$(pwd)\" \"$@\" \"$MT_BYTES\" \"$MT_FLAG\"\n"
	if err := os.WriteFile(filepath.Join(dir, prog), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	arg := "\xff\xfeA"
	extra := []string{"MT_BYTES=v\xe9\x80", "JUNK_\xe9=x", "LANGISH=\xc3\x28"}
	for _, args := range [][]string{
		{"exec", "--env", "MT_FLAG=f\xfe", "--", "./" + prog, arg},
		{"exec", "--env", "MT_FLAG=f\xfe", "-c", "./'" + prog + "' '" + arg + "'"},
		{"exec", "--env", "MT_FLAG=f\xfe", "--cwd", dir, "--", "./" + prog, arg},
	} {
		cli := e.cli(args, extra...)
		cli.Dir = dir
		have := e.runCmd(cli).want(t, 0)

		sh := exec.Command("bash", "-c", "./'"+prog+"' '"+arg+"'")
		sh.Dir, sh.Env = dir, append(e.environ(extra...), "MT_FLAG=f\xfe")
		want, err := sh.Output()
		if err != nil {
			t.Fatalf("bash -c: %v", err)
		}
		if have.stdout != string(want) {
			t.Errorf("%q: stdout %q, want %q (as bash -c gives)", args, have.stdout, want)
		}
	}
}
