package proc

import (
	"os"
	"slices"
	"strconv"
	"strings"
)

// LaunchEnv is set in the environment of a process that the pool starts
// through a launcher (see Launch); its value is the descriptors above 2
// that the program gets (comma-separated), a colon, and the path of the
// program to run. The program's argv follows the launcher's own arguments.
const LaunchEnv = "MOTHREADS_LAUNCH"

// LaunchCommand returns the argv and environment that start program (with
// argv, argv[0] being the name it sees) through launcher, a binary that
// calls Launch first thing in main. env is the program's environment; keep
// lists the descriptors above 2 that the launcher is given for the program
// (the exec.Cmd's ExtraFiles that are not nil): every other one is closed.
func LaunchCommand(launcher, program string, argv, env []string, keep ...int) (args, environ []string) {
	args = append([]string{launcher}, argv...)
	fds := make([]string, len(keep))
	for i, fd := range keep {
		fds[i] = strconv.Itoa(fd)
	}
	environ = append(slices.Clip(env), LaunchEnv+"="+strings.Join(fds, ",")+":"+program)
	return args, environ
}

// launchRequest returns the program to run and the descriptors to pass on
// if this process was started as a launcher, and the environment without
// LaunchEnv. A malformed request is no request.
func launchRequest() (program string, keep []int, env []string, ok bool) {
	env = os.Environ()
	for i, kv := range env {
		v, found := strings.CutPrefix(kv, LaunchEnv+"=")
		if !found {
			continue
		}
		fds, program, found := strings.Cut(v, ":")
		if !found {
			return "", nil, nil, false
		}
		for _, f := range strings.Split(fds, ",") {
			if f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil || n < 3 {
				return "", nil, nil, false
			}
			keep = append(keep, n)
		}
		return program, keep, slices.Delete(env, i, i+1), true
	}
	return "", nil, nil, false
}
