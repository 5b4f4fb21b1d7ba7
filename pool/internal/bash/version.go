//go:build linux

package bash

import (
	"fmt"
	"strconv"
	"strings"
)

// CheckVersion checks the $BASH_VERSION that the shell at path reported
// ("5.2.15(1)-release") and returns its "major.minor". The session
// program needs bash 4.4 or newer; an older one is an error.
func CheckVersion(path, bashVersion string) (string, error) {
	major, rest, _ := strings.Cut(bashVersion, ".")
	minor, _, _ := strings.Cut(rest, ".")
	v := major + "." + minor
	ma, _ := strconv.Atoi(major)
	mi, _ := strconv.Atoi(minor)
	if ma < 4 || ma == 4 && mi < 4 {
		return "", fmt.Errorf("%s is bash %s; bash 4.4 or newer is needed", path, v)
	}
	return v, nil
}
