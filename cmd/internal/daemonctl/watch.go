package daemonctl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Watch follows one daemon until it exits; take it before asking the
// daemon to stop.
type Watch struct {
	socket string
	made   os.FileInfo // the socket file the daemon serves on
	exit   exitWatch   // nil where the process cannot be watched
}

// exitWatch waits for one process to exit.
type exitWatch interface {
	// wait returns true once the process has exited, false when ctx ends
	// first.
	wait(ctx context.Context) bool
	close()
}

// NewWatch returns a Watch on the daemon serving on socket. On Linux it
// watches the daemon's process itself (its pid, from the socket's peer
// credentials, through a pidfd); elsewhere, or when that fails, the socket
// file, which the daemon removes as the last step of its shutdown.
func NewWatch(socket string) (*Watch, error) {
	fi, err := os.Lstat(socket)
	if err != nil {
		return nil, fmt.Errorf("watching the daemon: %w", err)
	}
	return &Watch{socket: socket, made: fi, exit: watchPeer(socket)}, nil
}

// Wait returns nil once the daemon has exited, or an error when ctx ends
// first.
func (w *Watch) Wait(ctx context.Context) error {
	if w.exit != nil {
		defer w.exit.close()
		if w.exit.wait(ctx) {
			return nil
		}
		return fmt.Errorf("the daemon on %s has not exited: %w", w.socket, ctx.Err())
	}
	// No event for another process's file going away: poll it.
	pace := backoff{next: 5 * time.Millisecond, most: 200 * time.Millisecond}
	for {
		fi, err := os.Lstat(w.socket)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && !os.SameFile(fi, w.made)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the daemon on %s has not removed its socket: %w", w.socket, ctx.Err())
		case <-pace.wait():
		}
	}
}
