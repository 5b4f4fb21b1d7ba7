// Package version is the version string of the mothreads binaries.
package version

import (
	"runtime/debug"
)

// Version is the release version. It is empty in the source and meant to be
// set at link time:
//
//	go build -ldflags "-X github.com/mothreads/mothreads/cmd/internal/version.Version=v1.2.3" ./cmd/...
//
// Nothing assigns it at run time; read it through String.
var Version string

// String returns Version when it was set at link time; otherwise the main
// module's version from the build information (a tagged version when built
// with `go install module@version`), with the VCS revision when the build
// recorded one; otherwise "devel".
func String() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" && v == "devel" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += "+" + rev + dirty
	}
	return v
}
