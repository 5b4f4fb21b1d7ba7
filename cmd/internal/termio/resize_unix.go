//go:build unix

package termio

import (
	"os"
	"os/signal"
	"syscall"
)

// NotifyResize sends on ch (without blocking; give it a buffer of one)
// whenever the process's terminal changes size (SIGWINCH), until stop is
// called.
func NotifyResize(ch chan<- struct{}) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-sigs:
				select {
				case ch <- struct{}{}:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}
