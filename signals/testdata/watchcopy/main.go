// Command watchcopy copies a signals.Watch; go vet must report it (see
// TestVetReportsACopiedWatch). It is never built.
package main

import "github.com/mothreads/mothreads/signals"

func main() {
	w := signals.Or(signals.New(), signals.New()).Watch()
	copied := w
	copied.Release()
	w.Release()
}
