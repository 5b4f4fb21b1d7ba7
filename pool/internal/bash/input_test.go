//go:build linux

package bash

import (
	"errors"
	"os"
	"testing"
)

// TestInputEOFAfterTheCallClosedIt: a sticky command that ends as soon as it
// has read its data (head -c 2) can have its input closed by the call's end
// between Input's look-up and its write: the end of input that Input was
// asked for has then happened, and Input with eof succeeds instead of
// failing with "file already closed". Data written to that closed input is
// still an error: it was not delivered.
func TestInputEOFAfterTheCallClosedIt(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in := &openInput{f: w}
	if err := in.write([]byte("ab"), false); err != nil {
		t.Fatal(err)
	}
	w.Close() // the call's end
	if err := in.write(nil, true); err != nil {
		t.Errorf("eof after the call closed the input: %v, want nil", err)
	}
	if err := in.write([]byte("c"), true); err == nil || !errors.Is(err, os.ErrClosed) {
		t.Errorf("data after the call closed the input: %v, want an error wrapping os.ErrClosed", err)
	}
}
