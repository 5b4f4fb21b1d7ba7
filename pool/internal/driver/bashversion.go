package driver

import (
	"fmt"
	"strconv"
	"strings"
)

// CheckBashVersion checks the $BASH_VERSION that the shell at path reported
// ("5.2.15(1)-release") and returns its "major.minor". Both bash drivers'
// session programs need bash 4.4 or newer; an older one (macOS's /bin/bash
// is 3.2) or a version that is not MAJOR.MINOR... is an error.
func CheckBashVersion(path, bashVersion string) (string, error) {
	major, rest, _ := strings.Cut(bashVersion, ".")
	minor, _, _ := strings.Cut(rest, ".")
	v := major + "." + minor
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("%s reported bash version %q, which is not MAJOR.MINOR...", path, bashVersion)
	}
	if ma < 4 || ma == 4 && mi < 4 {
		return "", fmt.Errorf("%s is bash %s; bash 4.4 or newer is needed", path, v)
	}
	return v, nil
}
