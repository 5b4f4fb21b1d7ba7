package driver

import (
	"fmt"
	"os"
	"path/filepath"
)

// ResolveDir returns the directory a call runs in: Dir, else BaseDir, else
// the session's. A relative Dir is taken against BaseDir when that is
// absolute (it is the caller's directory), anything else relative against
// the session's (AbsIn says how, per platform). A directory that does not
// exist is a NotFound error naming the field.
func ResolveDir(req *Request, sessionDir string) (string, error) {
	field, dir, rel := "cwd", req.Dir, sessionDir
	if req.BaseDir != "" && filepath.IsAbs(req.BaseDir) {
		rel = req.BaseDir
	}
	if dir == "" {
		field, dir, rel = "base_cwd", req.BaseDir, sessionDir
	}
	if dir == "" {
		return sessionDir, nil
	}
	dir = AbsIn(rel, dir)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return "", &RequestError{Field: field, Kind: NotFound, Problem: fmt.Sprintf("directory %q does not exist", dir), Err: err}
	case !fi.IsDir():
		return "", &RequestError{Field: field, Kind: NotFound, Problem: fmt.Sprintf("%q is not a directory", dir)}
	}
	return dir, nil
}
