package proc

import (
	"os"
	"slices"
)

// LaunchEnv is set in the environment of a process that the pool starts
// through a launcher (see Launch); its value is the path of the program to
// run, and the program's argv follows the launcher's own arguments.
const LaunchEnv = "MOTHREADS_LAUNCH"

// LaunchCommand returns the argv and environment that start program (with
// argv, argv[0] being the name it sees) through launcher, a binary that
// calls Launch first thing in main. env is the program's environment.
func LaunchCommand(launcher, program string, argv, env []string) (args, environ []string) {
	args = append([]string{launcher}, argv...)
	environ = append(slices.Clip(env), LaunchEnv+"="+program)
	return args, environ
}

// launchRequest returns the program to run if this process was started as a
// launcher, and the environment without LaunchEnv.
func launchRequest() (program string, env []string, ok bool) {
	env = os.Environ()
	for i, kv := range env {
		if len(kv) > len(LaunchEnv) && kv[:len(LaunchEnv)] == LaunchEnv && kv[len(LaunchEnv)] == '=' {
			return kv[len(LaunchEnv)+1:], slices.Delete(env, i, i+1), true
		}
	}
	return "", nil, false
}
