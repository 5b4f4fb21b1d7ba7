//go:build !windows

package driver

import "path/filepath"

// AbsIn makes p absolute against base.
func AbsIn(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}
