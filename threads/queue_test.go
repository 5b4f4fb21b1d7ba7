package threads_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
)

// firedTill returns a Signal that has fired: as a till it makes Add and Pop
// non-blocking.
func firedTill() *signals.Signal {
	s := signals.New()
	s.Go()
	return s
}

// popNow pops without blocking.
func popNow[T any](q *threads.Queue[T]) (T, threads.PopResult) { return q.Pop(firedTill()) }

func TestQueueFIFO(t *testing.T) {
	var q threads.Queue[int] // zero value: unbounded
	want := make([]int, 1000)
	for i := range want {
		want[i] = i
		if err := q.Add(i, nil); err != nil {
			t.Fatalf("Add(%d): %v", i, err)
		}
	}
	if have := q.Len(); have != len(want) {
		t.Fatalf("Len = %d, want %d", have, len(want))
	}
	var have []int
	for range want {
		v, r := q.Pop(nil)
		if r != threads.Item {
			t.Fatalf("Pop = %v, want Item", r)
		}
		have = append(have, v)
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("pop order (-want +have):\n%s", diff)
	}
	if _, r := popNow(&q); r != threads.TimedOut {
		t.Errorf("Pop on an empty queue with a fired till = %v, want TimedOut", r)
	}
}

// TestQueueMatchesModel drives a bounded queue with random Adds, Pops and
// PopAlls, so its ring wraps, grows and shrinks, and compares it with a slice.
func TestQueueMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, limit := range []int{0, 1, 7, 100} {
		q := threads.NewQueue[int](limit)
		var model []int
		for i := range 5000 {
			// Phases of 500 operations alternately fill and drain the queue,
			// so an unbounded ring grows past 64 slots and shrinks again.
			adds := 70
			if i/500%2 == 1 {
				adds = 30
			}
			switch op := rng.IntN(100); {
			case op < adds:
				err := q.Add(i, firedTill())
				if limit > 0 && len(model) == limit {
					if !errors.Is(err, threads.ErrQueueTimeout) {
						t.Fatalf("limit %d: Add on a full queue = %v, want ErrQueueTimeout", limit, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("limit %d: Add = %v", limit, err)
				}
				model = append(model, i)
			case op < 99:
				v, r := popNow(q)
				if len(model) == 0 {
					if r != threads.TimedOut {
						t.Fatalf("limit %d: Pop on empty = %v", limit, r)
					}
					continue
				}
				if r != threads.Item || v != model[0] {
					t.Fatalf("limit %d: Pop = %d, %v; want %d, Item", limit, v, r, model[0])
				}
				model = model[1:]
			default:
				if diff := cmp.Diff(model, q.PopAll(), cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("limit %d: PopAll (-want +have):\n%s", limit, diff)
				}
				model = nil
			}
			if q.Len() != len(model) {
				t.Fatalf("limit %d: Len = %d, want %d", limit, q.Len(), len(model))
			}
		}
	}
}

func TestQueueBoundedAddBlocksUntilPop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := threads.NewQueue[int](2)
		q.Add(1, nil)
		q.Add(2, nil)
		added := make(chan error, 1)
		go func() { added <- q.Add(3, nil) }()
		synctest.Wait()
		select {
		case err := <-added:
			t.Fatalf("Add on a full queue returned %v without blocking", err)
		default:
		}
		if v, r := q.Pop(nil); v != 1 || r != threads.Item {
			t.Fatalf("Pop = %d, %v; want 1, Item", v, r)
		}
		if err := <-added; err != nil {
			t.Fatalf("Add after Pop made room: %v", err)
		}
		if diff := cmp.Diff([]int{2, 3}, q.PopAll()); diff != "" {
			t.Errorf("queue (-want +have):\n%s", diff)
		}
	})
}

// TestQueueTimeouts checks that Pop and Add bounded by a Till give up after
// exactly its duration, leave the queue as it was, and no longer count as
// waiting: the next item (or slot) goes to the goroutine blocked after them.
func TestQueueTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers signals.Timers
		q := threads.NewQueue[string](1)

		start := time.Now()
		till, _ := timers.Till(time.Second)
		if v, r := q.Pop(till); r != threads.TimedOut || v != "" {
			t.Errorf("Pop on empty = %q, %v; want \"\", TimedOut", v, r)
		}
		if have := time.Since(start); have != time.Second {
			t.Errorf("Pop timed out after %v, want 1s", have)
		}
		popped := make(chan string)
		go func() { v, _ := q.Pop(nil); popped <- v }()
		synctest.Wait()
		q.Add("a", nil)
		if v := <-popped; v != "a" {
			t.Fatalf("Pop blocked after a timed-out one got %q, want a", v)
		}

		q.Add("b", nil)
		start = time.Now()
		till, _ = timers.Till(time.Second)
		if err := q.Add("x", till); !errors.Is(err, threads.ErrQueueTimeout) {
			t.Errorf("Add on full = %v, want ErrQueueTimeout", err)
		}
		if have := time.Since(start); have != time.Second {
			t.Errorf("Add timed out after %v, want 1s", have)
		}
		added := make(chan error)
		go func() { added <- q.Add("c", nil) }()
		synctest.Wait()
		if v, _ := q.Pop(nil); v != "b" {
			t.Fatalf("Pop = %q, want b", v)
		}
		if err := <-added; err != nil {
			t.Fatalf("Add blocked after a timed-out one: %v", err)
		}

		// A fired till does not stop an operation that need not block.
		if v, r := popNow(q); v != "c" || r != threads.Item {
			t.Errorf("Pop with an item and a fired till = %q, %v", v, r)
		}
		if err := q.Add("d", firedTill()); err != nil {
			t.Errorf("Add with room and a fired till = %v", err)
		}
	})
}

func TestQueueCloseDeliversPending(t *testing.T) {
	q := threads.NewQueue[int](10)
	for i := range 3 {
		q.Add(i, nil)
	}
	q.Close()
	q.Close() // idempotent
	if !q.Closed() {
		t.Fatal("Closed() = false after Close")
	}
	if err := q.Add(9, nil); !errors.Is(err, threads.ErrQueueClosed) {
		t.Errorf("Add after Close = %v, want ErrQueueClosed", err)
	}
	var have []int
	for {
		v, r := q.Pop(nil)
		if r == threads.Closed {
			break
		}
		if r != threads.Item {
			t.Fatalf("Pop = %v", r)
		}
		have = append(have, v)
	}
	if diff := cmp.Diff([]int{0, 1, 2}, have); diff != "" {
		t.Errorf("items popped after Close (-want +have):\n%s", diff)
	}
	if _, r := q.Pop(nil); r != threads.Closed {
		t.Errorf("second Pop on closed and empty = %v, want Closed", r)
	}
}

func TestQueueCloseReleasesBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		empty := threads.NewQueue[int](1)
		full := threads.NewQueue[int](1)
		full.Add(7, nil)

		const n = 3
		pops := make(chan threads.PopResult, n)
		adds := make(chan error, n)
		for range n {
			go func() { _, r := empty.Pop(nil); pops <- r }()
			go func() { adds <- full.Add(8, nil) }()
		}
		synctest.Wait()
		if len(pops)+len(adds) != 0 {
			t.Fatal("Pop on an empty queue or Add on a full one did not block")
		}
		empty.Close()
		full.Close()
		for range n {
			if r := <-pops; r != threads.Closed {
				t.Errorf("blocked Pop released by Close = %v, want Closed", r)
			}
			if err := <-adds; !errors.Is(err, threads.ErrQueueClosed) {
				t.Errorf("blocked Add released by Close = %v, want ErrQueueClosed", err)
			}
		}
		if diff := cmp.Diff([]int{7}, full.PopAll()); diff != "" {
			t.Errorf("items left after Close (-want +have):\n%s", diff)
		}
	})
}

func TestQueuePopAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := threads.NewQueue[int](2)
		if have := q.PopAll(); have != nil {
			t.Errorf("PopAll on empty = %v, want nil", have)
		}
		q.Add(1, nil)
		q.Add(2, nil)
		var wg sync.WaitGroup
		for v := 3; v <= 4; v++ {
			wg.Go(func() {
				if err := q.Add(v, nil); err != nil {
					t.Errorf("Add(%d): %v", v, err)
				}
			})
			synctest.Wait() // 3 blocks before 4
		}
		if diff := cmp.Diff([]int{1, 2}, q.PopAll()); diff != "" {
			t.Errorf("PopAll (-want +have):\n%s", diff)
		}
		wg.Wait() // PopAll made room for both blocked Adds
		// Both were woken at once and raced for the queue: either order.
		have := q.PopAll()
		slices.Sort(have)
		if diff := cmp.Diff([]int{3, 4}, have); diff != "" {
			t.Errorf("PopAll after the blocked Adds (-want +have):\n%s", diff)
		}
	})
}

func TestQueueAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := threads.NewQueue[int](3)
		go func() {
			for i := range 10 {
				q.Add(i, nil)
			}
			q.Close()
		}()
		var have []int
		for v := range q.All(nil) {
			have = append(have, v)
		}
		if diff := cmp.Diff([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, have); diff != "" {
			t.Errorf("All until Close (-want +have):\n%s", diff)
		}

		// All stops when till fires; breaking out leaves the rest queued.
		var timers signals.Timers
		open := threads.NewQueue[int](0)
		open.Add(1, nil)
		open.Add(2, nil)
		till, _ := timers.Till(time.Minute)
		have = nil
		for v := range open.All(till) {
			have = append(have, v)
		}
		if diff := cmp.Diff([]int{1, 2}, have); diff != "" {
			t.Errorf("All until till (-want +have):\n%s", diff)
		}
		open.Add(3, nil)
		open.Add(4, nil)
		for range open.All(nil) {
			break
		}
		if diff := cmp.Diff([]int{4}, open.PopAll()); diff != "" {
			t.Errorf("after breaking out of All (-want +have):\n%s", diff)
		}
	})
}

// TestQueueProducersConsumers checks that with several producers and
// consumers on a small bounded queue every item is delivered exactly once,
// and each producer's items reach any one consumer in the order added. It
// runs in a synctest bubble so that a lost wake fails as a deadlock.
func TestQueueProducersConsumers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const producers, consumers, each = 4, 4, 2000
		type item struct{ producer, seq int }
		q := threads.NewQueue[item](8)

		var pwg, cwg sync.WaitGroup
		for p := range producers {
			pwg.Go(func() {
				for i := range each {
					if err := q.Add(item{p, i}, nil); err != nil {
						t.Errorf("Add: %v", err)
					}
				}
			})
		}
		got := make([][]item, consumers)
		for c := range consumers {
			cwg.Go(func() {
				for v := range q.All(nil) {
					got[c] = append(got[c], v)
				}
			})
		}
		pwg.Wait()
		q.Close()
		cwg.Wait()

		seen := make(map[item]int)
		for c, items := range got {
			last := make([]int, producers)
			for i := range last {
				last[i] = -1
			}
			for _, v := range items {
				seen[v]++
				if v.seq <= last[v.producer] {
					t.Errorf("consumer %d got producer %d's item %d after %d", c, v.producer, v.seq, last[v.producer])
				}
				last[v.producer] = v.seq
			}
		}
		for p := range producers {
			for i := range each {
				if n := seen[item{p, i}]; n != 1 {
					t.Errorf("item %d of producer %d delivered %d times", i, p, n)
				}
			}
		}
	})
}

func TestPopResultString(t *testing.T) {
	have := fmt.Sprint(threads.Item, threads.Closed, threads.TimedOut, threads.PopResult(0))
	if want := "Item Closed TimedOut PopResult(0)"; have != want {
		t.Errorf("have %q, want %q", have, want)
	}
}

// TestQueueErrorsKeepTheirOldNames: the names before the rename still work.
func TestQueueErrorsKeepTheirOldNames(t *testing.T) {
	if threads.ErrClosed != threads.ErrQueueClosed || threads.ErrTimeout != threads.ErrQueueTimeout { //nolint:staticcheck // the deprecated names are the point
		t.Fatal("the deprecated names are not the same errors")
	}
}
