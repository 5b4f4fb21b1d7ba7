package threads_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mothreads/mothreads/threads"
)

// gatedHandler stands for a log handler writing to a slow disk or network:
// every record waits until the gate opens.
type gatedHandler struct {
	slog.Handler
	gate <-chan struct{}
}

func (h gatedHandler) Handle(ctx context.Context, r slog.Record) error {
	<-h.gate
	return h.Handler.Handle(ctx, r)
}

func (h gatedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return gatedHandler{h.Handler.WithAttrs(as), h.gate}
}

// TestParentStopsOnlyAfterItsChildren: a released child that fails is still
// a child while it logs its failure; its parent (here the root, as for Main)
// must not report stopped before the child has. Issue 13, bug 2: the child
// left its parent's list before logging, so the root joined and a program
// exiting then lost the log line.
func TestParentStopsOnlyAfterItsChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		var buf syncBuffer
		log := slog.New(gatedHandler{slog.NewTextHandler(&buf, nil), gate})
		root := threads.NewRoot("root", threads.Logger(log))
		proceed := make(chan struct{})
		child := threads.Go(root, "child", func(*threads.Thread) error {
			<-proceed
			return errors.New("child failed")
		})
		child.Release()
		close(proceed)
		synctest.Wait() // the child is stuck in the log handler
		root.Stop()
		joined := make(chan error, 1)
		go func() { joined <- root.Join() }()
		synctest.Wait()
		select {
		case <-joined:
			t.Fatal("root joined while its child was still logging its failure")
		default:
		}
		if root.Stopped().Fired() {
			t.Fatal("root reports stopped before its child")
		}
		close(gate)
		if err := <-joined; err != nil {
			t.Fatalf("root.Join = %v; the released failure belongs in the log", err)
		}
		if !child.Stopped().Fired() {
			t.Fatal("root joined; its child has not stopped")
		}
		if !strings.Contains(buf.String(), "child failed") {
			t.Fatalf("the released failure was not logged:\n%s", buf.String())
		}
	})
}

// TestParentWaitsForItsChildsStoppedCallbacks: a child counts as stopped
// once its Stopped Signal has fired and run its callbacks; its parent must
// not finish while they still run (Stopped fires as Go starts, Done closes
// after the callbacks).
func TestParentWaitsForItsChildsStoppedCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := threads.NewRoot("root")
		gate, proceed := make(chan struct{}), make(chan struct{})
		child := threads.Go(root, "child", func(*threads.Thread) error { <-proceed; return nil })
		child.Stopped().Then(func() { <-gate }) // a slow callback
		close(proceed)
		synctest.Wait() // the child is in its callback
		root.Stop()
		joined := make(chan error, 1)
		go func() { joined <- root.Join() }()
		synctest.Wait()
		select {
		case <-joined:
			t.Fatal("root joined while its child's Stopped callbacks still ran")
		default:
		}
		close(gate)
		if err := <-joined; err != nil {
			t.Fatal(err)
		}
	})
}

// TestGoOnStoppedParentIsAdopted: a child started on a parent that has
// already stopped is waited for by the nearest ancestor still running, and
// its error reaches that ancestor's Join. Issue 13, bug 3: it was an orphan
// and root.Join returned nil while it ran.
func TestGoOnStoppedParentIsAdopted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := threads.NewRoot("root", threads.Logger(slog.New(slog.DiscardHandler)))
		parent := threads.Go(root, "parent", func(*threads.Thread) error { return nil })
		if err := parent.Join(); err != nil {
			t.Fatal(err)
		}
		proceed := make(chan struct{})
		lateErr := errors.New("late child failed")
		late := threads.Go(parent, "late", func(t *threads.Thread) error {
			if !t.PleaseStop().Fired() {
				return errors.New("a child of a stopped parent runs without please-stop")
			}
			<-proceed
			return lateErr
		})
		if late.Path() != "root/parent/late" || late.Parent() != parent {
			t.Errorf("adopted child: Path %q, Parent %v; want its own place in the tree", late.Path(), late.Parent())
		}
		root.Stop()
		joined := make(chan error, 1)
		go func() { joined <- root.Join() }()
		synctest.Wait()
		select {
		case err := <-joined:
			t.Fatalf("root.Join = %v while the late child still ran", err)
		default:
		}
		close(proceed)
		if err := <-joined; !errors.Is(err, lateErr) {
			t.Fatalf("root.Join = %v, want the late child's error", err)
		}
		if !late.Stopped().Fired() {
			t.Fatal("root joined before the late child stopped")
		}
	})
}

// TestGoRacingParentFinishIsNeverOrphaned starts a child at the moment its
// parent finishes, many times: whichever side wins, the root waits for the
// child.
func TestGoRacingParentFinishIsNeverOrphaned(t *testing.T) {
	iterations := 2000
	if testing.Short() {
		iterations = 200
	}
	for i := range iterations {
		root := threads.NewRoot("root", threads.Logger(slog.New(slog.DiscardHandler)))
		start := make(chan struct{})
		parent := threads.Go(root, "parent", func(*threads.Thread) error { <-start; return nil })
		var late *threads.Thread
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			late = threads.Go(parent, "late", func(*threads.Thread) error {
				runtime.Gosched()
				return nil
			})
		})
		close(start)
		wg.Wait()
		root.Stop()
		if err := root.Join(); err != nil {
			t.Fatalf("iteration %d: root.Join = %v", i, err)
		}
		if !late.Stopped().Fired() {
			t.Fatalf("iteration %d: root joined while a child started on its finishing parent ran", i)
		}
	}
}

// TestGoexitFinishesTheThread: a body that calls runtime.Goexit (as
// t.FailNow does) still finishes its thread, with an error saying so; the
// parent does not wait out its stop timeout. Issue 13, bug 4: Join hung.
func TestGoexitFinishesTheThread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := threads.NewRoot("root", threads.StopTimeout(time.Hour),
			threads.Logger(slog.New(slog.DiscardHandler)))
		th := threads.Go(root, "goexit", func(*threads.Thread) error {
			defer func() {}() // deferred calls still run
			runtime.Goexit()
			return nil
		})
		err := th.Join() // hangs (a synctest deadlock) if Goexit skipped finishing
		if !errors.Is(err, threads.ErrGoexit) {
			t.Fatalf("Join = %v, want ErrGoexit", err)
		}
		start := time.Now()
		root.Stop()
		if err := root.Join(); err != nil {
			t.Fatalf("root.Join = %v; the joined error is claimed", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("root took %v to stop", d)
		}
		if late := root.Late(); len(late) != 0 {
			t.Errorf("Late = %v", late)
		}
	})
}

// TestUnjoinedFailureIsLoggedAfterGrace: a failing child that nobody joins
// or releases is logged once its grace has passed (by default the seed's
// minute), and leaves its parent's collection, so a long-lived parent does
// not keep every failure until it stops. Issue 13, bug 8.
func TestUnjoinedFailureIsLoggedAfterGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf syncBuffer
		root := threads.NewRoot("root", threads.Logger(slog.New(slog.NewTextHandler(&buf, nil))))
		lonely := errors.New("nobody joined me")
		threads.Go(root, "lonely", func(*threads.Thread) error { return lonely })
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if strings.Contains(buf.String(), "nobody joined me") {
			t.Fatalf("logged before the grace was over:\n%s", buf.String())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		log := buf.String()
		for _, want := range []string{"nobody joined me", "thread=root/lonely"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q after the grace:\n%s", want, log)
			}
		}
		root.Stop()
		if err := root.Join(); errors.Is(err, lonely) {
			t.Errorf("root.Join = %v; the logged failure was passed up as well", err)
		}
	})
}

// TestUnjoinedFailureJoinedInTimeIsNotLogged: within the grace, the error
// still goes to whoever joins (here the parent collecting it).
func TestUnjoinedFailureJoinedInTimeIsNotLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf syncBuffer
		root := threads.NewRoot("root", threads.Logger(slog.New(slog.NewTextHandler(&buf, nil))))
		lonely := errors.New("nobody joined me")
		child := threads.Go(root, "lonely", func(*threads.Thread) error { return lonely })
		child.Stopped().Wait()
		time.Sleep(30 * time.Second)
		root.Stop()
		if err := root.Join(); !errors.Is(err, lonely) {
			t.Errorf("root.Join = %v, want the child's error", err)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if strings.Contains(buf.String(), "nobody joined me") {
			t.Errorf("a failure collected in time was logged too:\n%s", buf.String())
		}
	})
}
