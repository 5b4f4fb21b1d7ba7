//go:build unix

package sockpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// CheckDir checks that dir (made absolute) may hold the socket of a daemon
// run by uid: see the package documentation for the rule. It returns an
// *UnsafeError when it may not, and the file system's error (matching
// fs.ErrNotExist when a component is missing) when a component cannot be
// looked at.
func CheckDir(dir string, uid int) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("socket directory %q: %w", dir, err)
	}
	parent := dir
	if dir != "/" {
		parent = filepath.Dir(dir)
	}
	real, err := walk(parent, uid)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(filepath.Join(real, filepath.Base(dir)))
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return &UnsafeError{What: "socket directory", Path: dir, Problem: "is a symbolic link"}
	}
	return checkFinal(dir, fi, uid)
}

// PrepareDir creates the missing directories of dir one by one, each 0700,
// then checks dir as CheckDir does. Existing ancestors are checked before
// anything is created under them.
func PrepareDir(dir string, uid int) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("socket directory %q: %w", dir, err)
	}
	var missing []string
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) || p == filepath.Dir(p) {
			if len(missing) > 0 {
				if _, err := walk(p, uid); err != nil {
					return err
				}
			}
			break
		}
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating the socket directory: %w", err)
		}
	}
	return CheckDir(dir, uid)
}

// CheckSocket checks the socket at path for a daemon run by uid: its
// directory as CheckDir does, then the file itself, which must be a socket
// owned by uid. A missing socket is the file system's error (matching
// fs.ErrNotExist), not an *UnsafeError.
func CheckSocket(path string, uid int) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("socket %q: %w", path, err)
	}
	if err := CheckDir(filepath.Dir(path), uid); err != nil {
		return err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	switch st, ok := fi.Sys().(*syscall.Stat_t); {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &UnsafeError{What: "socket", Path: path, Problem: "is a symbolic link"}
	case fi.Mode()&fs.ModeSocket == 0:
		return &UnsafeError{What: "socket", Path: path, Problem: fmt.Sprintf("is not a socket (mode %v)", fi.Mode())}
	case ok && int(st.Uid) != uid:
		return &UnsafeError{What: "socket", Path: path, Problem: fmt.Sprintf("is owned by uid %d, not by uid %d", st.Uid, uid)}
	}
	return nil
}

// walk checks every directory from / down to dir (absolute and clean) as an
// ancestor, following symbolic links (each only after the directory that
// holds it passed), and returns the real path it arrived at.
func walk(dir string, uid int) (string, error) {
	cur := "/"
	if err := checkAncestor(cur, uid); err != nil {
		return "", err
	}
	rest := split(dir)
	links := 0
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur) // cur is real: its parent was checked
			continue
		}
		p := filepath.Join(cur, name)
		fi, err := os.Lstat(p)
		if err != nil {
			return "", fmt.Errorf("socket directory: %w", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > maxLinks {
				return "", fmt.Errorf("socket directory %s: too many symbolic links", dir)
			}
			target, err := os.Readlink(p)
			if err != nil {
				return "", fmt.Errorf("socket directory: %w", err)
			}
			if filepath.IsAbs(target) {
				cur = "/"
			}
			rest = append(split(target), rest...)
			continue
		}
		if err := checkAncestorInfo(p, fi, uid); err != nil {
			return "", err
		}
		cur = p
	}
	return cur, nil
}

func split(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

func checkAncestor(p string, uid int) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	return checkAncestorInfo(p, fi, uid)
}

// checkAncestorInfo: a directory owned by uid or root, writable by its
// group or others only when sticky.
func checkAncestorInfo(p string, fi fs.FileInfo, uid int) error {
	if !fi.IsDir() {
		return &UnsafeError{What: "directory", Path: p, Problem: "is not a directory"}
	}
	if err := checkOwner("directory", p, fi, uid); err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return &UnsafeError{What: "directory", Path: p,
			Problem: fmt.Sprintf("is writable by its group or others and not sticky (mode %#o)", fi.Mode().Perm())}
	}
	return nil
}

// checkFinal: the socket's own directory, owned by uid or root, writable by
// its owner only.
func checkFinal(p string, fi fs.FileInfo, uid int) error {
	if !fi.IsDir() {
		return &UnsafeError{What: "socket directory", Path: p, Problem: "is not a directory"}
	}
	if err := checkOwner("socket directory", p, fi, uid); err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return &UnsafeError{What: "socket directory", Path: p,
			Problem: fmt.Sprintf("is writable by its group or others (mode %#o; make it 0700)", fi.Mode().Perm())}
	}
	return nil
}

func checkOwner(what, p string, fi fs.FileInfo, uid int) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == uid || st.Uid == 0 {
		return nil
	}
	if uid == 0 {
		return &UnsafeError{What: what, Path: p, Problem: fmt.Sprintf("is owned by uid %d, not by root", st.Uid)}
	}
	return &UnsafeError{What: what, Path: p, Problem: fmt.Sprintf("is owned by uid %d, not by uid %d or root", st.Uid, uid)}
}
