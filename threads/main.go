package threads

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"

	"github.com/mothreads/mothreads/signals"
)

// Main runs fn as the body of a new root thread named name and turns the
// process's interrupt and termination signals into an ordered shutdown of the
// whole tree. It returns when the tree has stopped, with fn's error joined
// with the errors of children nobody claimed and, if any thread failed to
// stop, an error naming them.
//
// The first SIGINT or SIGTERM asks the root to stop: every thread is asked to
// stop, every pending Till fires, and each parent joins its children, the
// last started first, within their stop timeouts. A second one forces the
// shutdown (see Force), or, with OnSecondSignal, hurries it and leaves the
// forcing to a third: joins stop waiting, and Main returns promptly,
// naming the threads still running. fn itself is waited for as a parent
// waits for a child, at most the root's stop timeout: a body that gives up
// on Forced finishes its own shutdown (a daemon removes its socket, say);
// one that does not return in time (it waits for a worker that ignores the
// stop) is left behind, named with the others, and its error is lost.
// SIGUSR1 (on Unix) writes every goroutine's stack, with the live threads
// listed first, to DumpTo (default os.Stderr).
//
// fn should start the program's threads as children of the root and then
// wait for t.PleaseStop(); when fn returns, on its own or because it was
// asked to, the tree shuts down. Main installs its signal handlers when it is
// called and removes them when it returns; nothing happens at import time.
func Main(name string, fn Func, opts ...Option) error {
	if fn == nil {
		return errors.New("threads: Main with a nil Func")
	}
	root := newRoot(name, opts)
	cfg := config{dumpTo: os.Stderr}
	for _, o := range opts {
		o(&cfg)
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, shutdownSignals...)
	signal.Notify(sigs, dumpSignals...)
	defer signal.Stop(sigs)

	var returned signals.Signal // fn has returned (or panicked, or called Goexit)
	go root.run(func(t *Thread) (any, error) {
		defer returned.Go()
		return nil, fn(t)
	})

	stops := 0
	forced := root.tree.forced.Done()
	for !root.stopped.Fired() {
		select {
		case <-root.stopped.Done():
		case <-forced:
			deadline, release := signals.After(root.stopTimeout)
			gaveUp := !returned.WaitTill(deadline)
			release()
			if gaveUp {
				return fmt.Errorf("threads did not stop: %s", strings.Join(root.Running(), ", "))
			}
			root.stopped.Wait() // prompt: the root's joins stop waiting too
		case s := <-sigs:
			if isDump(s) {
				root.Logger().Info("dumping goroutine stacks", "signal", s.String())
				dumpStacks(cfg.dumpTo, root)
				continue
			}
			stops++
			switch {
			case stops == 1:
				root.Logger().Info("shutting down", "signal", s.String())
				root.Stop()
			case stops == 2 && cfg.secondSignal != nil:
				root.Logger().Warn("hurrying the shutdown; a third signal forces it", "signal", s.String())
				cfg.secondSignal()
			default:
				root.Logger().Warn("forcing shutdown", "signal", s.String(), "running", root.Running())
				root.Force()
			}
		}
	}

	err := root.Join()
	if late := root.Late(); len(late) > 0 {
		err = errors.Join(err, fmt.Errorf("threads did not stop: %s", strings.Join(late, ", ")))
	}
	return err
}

func isDump(s os.Signal) bool {
	for _, d := range dumpSignals {
		if s == d {
			return true
		}
	}
	return false
}

// dumpStacks writes the live threads, then all goroutine stacks grouped by
// stack with their pprof labels (which carry thread paths).
func dumpStacks(w io.Writer, root *Thread) {
	fmt.Fprintf(w, "=== live threads\n%s\n=== goroutines\n", strings.Join(root.Running(), "\n"))
	if err := pprof.Lookup("goroutine").WriteTo(w, 1); err != nil {
		root.Logger().Error("dumping goroutine stacks", "err", err)
	}
}
