package driver

import (
	"path/filepath"
	"strings"
)

// AbsIn makes p absolute against base: `x\y` in base, `\x` on base's drive,
// `D:x` against the process's directory on drive D (as cmd.exe would).
func AbsIn(base, p string) string {
	switch {
	case filepath.IsAbs(p):
	case filepath.VolumeName(p) != "":
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
	case strings.HasPrefix(p, `\`) || strings.HasPrefix(p, "/"):
		p = filepath.VolumeName(base) + p
	default:
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p)
}
