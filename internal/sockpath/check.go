package sockpath

import (
	"errors"
	"fmt"
)

// ErrUnsafe is matched (errors.Is) by every *UnsafeError.
var ErrUnsafe = errors.New("unsafe socket path")

// UnsafeError is a socket path that fails the rule of the package
// documentation. Its message names the path and the problem, for example
// "socket directory /tmp/mothreads-1002 is owned by uid 65534, not by uid
// 1002 or root; refusing to use it".
type UnsafeError struct {
	// What is "directory", "socket directory" or "socket".
	What string
	// Path is the directory or file that failed.
	Path string
	// Problem says what is wrong with it.
	Problem string
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("%s %s %s; refusing to use it", e.What, e.Path, e.Problem)
}

// Is makes errors.Is(err, ErrUnsafe) true.
func (e *UnsafeError) Is(target error) bool { return target == ErrUnsafe }

// maxLinks bounds the symbolic links followed in one walk, as the kernel's
// own limit (40) does.
const maxLinks = 40
