package signals_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/mothreads/mothreads/signals"
)

// node is one Signal of a random composite DAG and the rule that decides it.
type attackNode struct {
	s      *signals.Signal
	all    bool
	inputs []*attackNode // nil for a leaf
	fire   bool          // leaf: fired in this round
}

func (n *attackNode) want() bool {
	if n.inputs == nil {
		return n.fire
	}
	for _, in := range n.inputs {
		if in.want() != n.all {
			return !n.all
		}
	}
	return n.all
}

// randomDAG builds leaves and composites of 1–4 inputs, nested up to three
// deep, where a composite may be the input of several others.
func randomDAG(r *rand.Rand) (leaves, comps []*attackNode) {
	for range 4 {
		leaves = append(leaves, &attackNode{s: signals.New(), fire: r.IntN(2) == 0})
	}
	pool := append([]*attackNode(nil), leaves...)
	for range 6 {
		k := 1 + r.IntN(4)
		n := &attackNode{all: r.IntN(2) == 0}
		var sigs []*signals.Signal
		for range k {
			in := pool[r.IntN(len(pool))]
			n.inputs = append(n.inputs, in)
			sigs = append(sigs, in.s)
		}
		if n.all {
			n.s = signals.And(sigs...)
		} else {
			n.s = signals.Or(sigs...)
		}
		comps = append(comps, n)
		pool = append(pool, n)
	}
	return leaves, comps
}

// TestCompositeDAGAttack fires the leaves of random DAGs of nested Or and
// And (shared inner composites, up to four inputs) while watchers of every
// kind come, go and come back on every composite, and then checks that each
// composite fired exactly when its inputs decide it, that every watcher that
// waited for a composite that fired saw it, and that nothing is left
// registered on any Signal that did not fire.
func TestCompositeDAGAttack(t *testing.T) {
	rounds := 400
	if testing.Short() {
		rounds = 50
	}
	for round := range rounds {
		r := rand.New(rand.NewPCG(uint64(round), 7))
		leaves, comps := randomDAG(r)
		bound := signals.New()
		var wg sync.WaitGroup
		for i, c := range comps {
			kind := r.IntN(5)
			wg.Go(func() {
				for range 3 {
					switch kind {
					case 0:
						w := c.s.Watch()
						select {
						case <-w.Done():
						case <-bound.Done():
						}
						w.Release()
						w.Release()
					case 1:
						stop := c.s.Then(func() {})
						w := bound.Watch()
						<-w.Done()
						stop()
						stop()
					case 2:
						c.s.WaitTill(bound)
					case 3:
						signals.Or(c.s, bound, comps[(i+1)%len(comps)].s).Wait()
					case 4:
						w := signals.And(c.s, comps[(i+2)%len(comps)].s).Watch()
						select {
						case <-w.Done():
						case <-bound.Done():
						}
						w.Release()
					}
				}
			})
		}
		wg.Go(func() {
			for _, l := range leaves {
				if l.fire {
					l.s.Go()
				}
			}
			bound.Go()
		})
		wg.Wait()
		for i, c := range comps {
			if got, want := c.s.Fired(), c.want(); got != want {
				t.Fatalf("round %d: composite %d (And %v): Fired %v, want %v", round, i, c.all, got, want)
			}
			if c.want() && !c.s.WaitTill(signals.Never()) {
				t.Fatalf("round %d: composite %d decided but its wait did not end", round, i)
			}
		}
		for i, l := range leaves {
			if n := l.s.NumCallbacks(); n != 0 {
				t.Fatalf("round %d: leaf %d (fired %v) keeps %d callbacks after every watcher left", round, i, l.fire, n)
			}
		}
		for i, c := range comps {
			if n := c.s.NumCallbacks(); n != 0 {
				t.Fatalf("round %d: composite %d keeps %d callbacks after every watcher left", round, i, n)
			}
		}
	}
}
