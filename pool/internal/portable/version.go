//go:build unix

package portable

import (
	"fmt"
	"strconv"
	"strings"
)

// CheckVersion checks the $BASH_VERSION that the shell at path reported
// ("5.2.15(1)-release") and returns its "major.minor". The session program
// needs bash 4.4 or newer (wait -f, which bash 5.1 added, is used when
// there); an older one, such as macOS's /bin/bash 3.2, is an error, and the
// pool's auto choice gives it to the POSIX driver instead.
func CheckVersion(path, bashVersion string) (string, error) {
	major, rest, _ := strings.Cut(bashVersion, ".")
	minor, _, _ := strings.Cut(rest, ".")
	v := major + "." + minor
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("%s reported bash version %q, which is not MAJOR.MINOR...", path, bashVersion)
	}
	if ma < 4 || ma == 4 && mi < 4 {
		return "", fmt.Errorf("%s is bash %s; the portable driver needs bash 4.4 or newer", path, v)
	}
	return v, nil
}
