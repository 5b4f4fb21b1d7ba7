// Package termio is the local terminal of `mothreads exec -t`: whether
// stdin is one, its size, raw mode, and its size changes (SIGWINCH on Unix).
package termio

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/term"
)

// Terminal is a terminal open on a file (stdin).
type Terminal struct {
	f *os.File
}

// ErrNotTerminal is returned by Open for a file that is not a terminal.
var ErrNotTerminal = errors.New("not a terminal")

// Open returns the terminal on f, or an error matching ErrNotTerminal.
func Open(f *os.File) (*Terminal, error) {
	if !term.IsTerminal(int(f.Fd())) {
		return nil, fmt.Errorf("%s: %w", f.Name(), ErrNotTerminal)
	}
	return &Terminal{f: f}, nil
}

// Size returns the terminal's size in characters. A terminal that reports
// no size (0x0, as some do before a window exists) is taken as 24x80.
func (t *Terminal) Size() (rows, cols uint16, err error) {
	w, h, err := term.GetSize(int(t.f.Fd()))
	if err != nil {
		return 0, 0, fmt.Errorf("terminal size: %w", err)
	}
	if w <= 0 || h <= 0 {
		return 24, 80, nil
	}
	return uint16(min(h, 0xffff)), uint16(min(w, 0xffff)), nil
}

// MakeRaw puts the terminal in raw mode: no echo, no line editing, and no
// signals from the keyboard (Ctrl-C arrives as a byte, for the remote
// terminal to interpret). The returned restore puts the previous mode back;
// it is safe to call more than once and from several goroutines, and must
// be called on every way out, panics and signals included (defer it, and
// handle the signals that would otherwise end the process).
func (t *Terminal) MakeRaw() (restore func(), err error) {
	state, err := term.MakeRaw(int(t.f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("terminal raw mode: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() { _ = term.Restore(int(t.f.Fd()), state) })
	}, nil
}
