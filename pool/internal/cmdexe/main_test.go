package cmdexe

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// helperEnv, when set in the environment of the test binary, makes it a
// helper program of the Windows tests instead (see runHelper): a program
// whose behaviour is known exactly, where Windows' own tools (and Wine's
// versions of them) differ.
const helperEnv = "MOTHREADS_CMDEXE_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// runHelper is the test binary as a helper program:
//   - cat: copies stdin to stdout;
//   - args: prints its arguments as a JSON array;
//   - exit N: exits with status N;
//   - tree [exit]: starts a copy of itself that sleeps, prints "PID CHILDPID"
//     and a line end, then sleeps too, or exits at once with "exit";
//   - sleep: sleeps for an hour.
func runHelper(mode string, args []string) int {
	switch mode {
	case "cat":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "cat:", err)
			return 1
		}
	case "args":
		json.NewEncoder(os.Stdout).Encode(args)
	case "exit":
		if len(args) != 1 {
			return 100
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return 101
		}
		return n
	case "tree":
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "tree:", err)
			return 1
		}
		child := exec.Command(self)
		child.Env = append(os.Environ(), helperEnv+"=sleep")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "tree:", err)
			return 1
		}
		fmt.Printf("%d %d\n", os.Getpid(), child.Process.Pid)
		if len(args) == 1 && args[0] == "exit" {
			return 0
		}
		time.Sleep(time.Hour)
	case "sleep":
		time.Sleep(time.Hour)
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		return 2
	}
	return 0
}
