package threads

import (
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/mothreads/mothreads/signals"
)

// ErrQueueClosed is returned by Queue.Add once the queue is closed.
var ErrQueueClosed = errors.New("threads: queue closed")

// ErrQueueTimeout is returned by Queue.Add when its till fires before there
// is room.
var ErrQueueTimeout = errors.New("threads: queue add timed out")

// ErrClosed is ErrQueueClosed under its first name.
//
// Deprecated: use ErrQueueClosed; the package has more than one thing that
// closes.
var ErrClosed = ErrQueueClosed

// ErrTimeout is ErrQueueTimeout under its first name.
//
// Deprecated: use ErrQueueTimeout; the package has more than one thing that
// times out.
var ErrTimeout = ErrQueueTimeout

// PopResult says what Queue.Pop returned.
type PopResult int

const (
	// Item means Pop returned the item at the head of the queue.
	Item PopResult = iota + 1
	// Closed means the queue is closed and empty: no item will ever come.
	Closed
	// TimedOut means till fired before an item arrived.
	TimedOut
)

// String returns the name of r.
func (r PopResult) String() string {
	switch r {
	case Item:
		return "Item"
	case Closed:
		return "Closed"
	case TimedOut:
		return "TimedOut"
	}
	return fmt.Sprintf("PopResult(%d)", int(r))
}

// Queue is a FIFO of values shared by goroutines, the seed's queue: values
// are passed as they are, with no copying or serialization.
//
// The zero value is an open, unbounded queue; NewQueue makes a bounded one. A
// Queue must not be copied after first use.
//
// Blocked goroutines wait in two FIFO lines, consumers in Pop and producers
// in Add; each item added wakes the first consumer in line, each slot freed
// the first producer, and Close wakes them all. Items come out in the order
// their Adds took effect, but the order is not strict among goroutines
// blocked at the same time: a woken goroutine re-acquires the queue in
// competition with the others woken and with goroutines just arriving.
//
// Traps:
//   - The queue holds values, not copies: a value that is (or contains) a
//     pointer, slice or map is shared with the consumer. The producer must not
//     change it after Add.
//   - An unbounded queue never blocks Add, so a producer faster than its
//     consumers grows it without limit; bound it when that can happen.
//   - Close does not discard items: consumers still receive everything added
//     before Close, so a consumer that must stop at once should also watch its
//     own stop Signal (pass it as till).
type Queue[T any] struct {
	mu      sync.Mutex
	buf     []T // ring buffer: the items are buf[head], buf[head+1], ... (mod len)
	head, n int
	max     int // 0: unbounded
	closed  bool
	readers sleepers // blocked in Pop
	writers sleepers // blocked in Add
}

// NewQueue returns an open queue that holds at most limit items; Add blocks
// while it is full. A limit <= 0 means unbounded, like the zero Queue. Memory
// is allocated as items arrive, not up front.
func NewQueue[T any](limit int) *Queue[T] {
	return &Queue[T]{max: max(limit, 0)}
}

// Add appends v to the queue. If the queue is full it blocks until a Pop makes
// room, till fires (ErrQueueTimeout) or the queue is closed (ErrQueueClosed). A nil till
// means no bound; a fired till makes Add non-blocking. Once the queue is
// closed Add returns ErrQueueClosed, even if there is room.
//
// Trap: v must not be changed after Add; see Queue.
func (q *Queue[T]) Add(v T, till *signals.Signal) error {
	q.mu.Lock()
	for {
		switch {
		case q.closed:
			q.mu.Unlock()
			return ErrQueueClosed
		case q.max == 0 || q.n < q.max:
			q.push(v)
			q.readers.wakeOne()
			q.mu.Unlock()
			return nil
		case till != nil && till.Fired():
			q.mu.Unlock()
			return ErrQueueTimeout
		}
		s := q.writers.park(0)
		q.mu.Unlock()
		s.sleep(till)
		q.mu.Lock()
		q.writers.leave(s)
	}
}

// Pop removes and returns the item at the head of the queue, with Item. If the
// queue is empty it blocks until an item is added (Item), the queue is closed
// (Closed), or till fires (TimedOut); the value is then the zero T. A nil till
// means no bound; a fired till makes Pop non-blocking.
//
// Pop prefers an item to both Closed and TimedOut: items added before Close
// are still delivered, and an item that arrives as till fires is returned.
func (q *Queue[T]) Pop(till *signals.Signal) (T, PopResult) {
	var zero T
	q.mu.Lock()
	for {
		switch {
		case q.n > 0:
			v := q.pop()
			q.writers.wakeOne()
			q.mu.Unlock()
			return v, Item
		case q.closed:
			q.mu.Unlock()
			return zero, Closed
		case till != nil && till.Fired():
			q.mu.Unlock()
			return zero, TimedOut
		}
		s := q.readers.park(0)
		q.mu.Unlock()
		s.sleep(till)
		q.mu.Lock()
		q.readers.leave(s)
	}
}

// PopAll removes and returns every item in the queue, oldest first, without
// blocking. It returns nil if the queue is empty, closed or not.
func (q *Queue[T]) PopAll() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		return nil
	}
	all := make([]T, q.n)
	k := copy(all, q.buf[q.head:min(q.head+q.n, len(q.buf))])
	copy(all[k:], q.buf[:q.n-k])
	if len(q.buf) > 64 && q.n < len(q.buf)/4 {
		q.buf = nil // a spike is over: do not keep its memory
	} else {
		clear(q.buf)
	}
	freed := q.n
	q.head, q.n = 0, 0
	for i := 0; i < freed && q.writers.wakeOne(); i++ {
	}
	return all
}

// All returns an iterator that pops and yields items until the queue is
// closed and empty, or till fires (nil means no bound). Each item yielded has
// been removed from the queue; stopping the loop early leaves the remaining
// items in the queue for other consumers.
func (q *Queue[T]) All(till *signals.Signal) iter.Seq[T] {
	return func(yield func(T) bool) {
		for {
			v, r := q.Pop(till)
			if r != Item || !yield(v) {
				return
			}
		}
	}
}

// Close closes the queue: later Adds return ErrQueueClosed, and Pop returns Closed
// once the items already in the queue have been popped. Every goroutine
// blocked in Add or Pop is woken. Closing twice is harmless.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.readers.wakeAll()
	q.writers.wakeAll()
	q.mu.Unlock()
}

// Closed reports whether Close has been called; items may remain to be
// popped.
func (q *Queue[T]) Closed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// Len returns the number of items in the queue. With other goroutines adding
// and popping, it may be stale by the time the caller looks at it.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// push appends v, growing the ring if it is full. The caller checked max.
func (q *Queue[T]) push(v T) {
	if q.n == len(q.buf) {
		q.resize(max(2*len(q.buf), 8))
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
}

// pop removes the head item, clearing its slot so the queue does not keep it
// alive, and shrinks a ring that has become mostly empty.
func (q *Queue[T]) pop() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	if len(q.buf) > 64 && q.n < len(q.buf)/4 {
		q.resize(len(q.buf) / 2)
	}
	return v
}

// resize moves the items to a new ring of the given size (at least q.n),
// capped at max for a bounded queue.
func (q *Queue[T]) resize(size int) {
	if q.max > 0 {
		size = min(size, q.max)
	}
	buf := make([]T, size)
	k := copy(buf, q.buf[q.head:min(q.head+q.n, len(q.buf))])
	copy(buf[k:q.n], q.buf[:q.n-k])
	q.buf, q.head = buf, 0
}
