package daemon

import (
	"sync"
	"time"
)

// throttle limits failed authentications per peer address (host, without
// the port): each failure spends a token of a bucket that holds burst and
// refills one every interval. While a peer's bucket is empty its calls are
// refused without looking at their token, so guessing runs at one try per
// interval instead of thousands a second.
//
// Trap: it throttles the address, not the guesser: a legitimate client
// behind the same address is refused too until the bucket refills.
type throttle struct {
	burst    float64
	interval time.Duration
	maxPeers int

	mu    sync.Mutex
	peers map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newThrottle(burst int, interval time.Duration, maxPeers int) *throttle {
	return &throttle{burst: float64(burst), interval: interval, maxPeers: maxPeers, peers: map[string]*bucket{}}
}

// refill brings b up to now.
func (t *throttle) refill(b *bucket, now time.Time) {
	b.tokens = min(t.burst, b.tokens+float64(now.Sub(b.at))/float64(t.interval))
	b.at = now
}

// blocked reports whether peer has no tries left, and when it gets one.
func (t *throttle) blocked(peer string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.peers[peer]
	if !ok {
		return false, 0
	}
	now := time.Now()
	t.refill(b, now)
	if b.tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - b.tokens) * float64(t.interval))
}

// failed spends one of peer's tries.
func (t *throttle) failed(peer string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	b, ok := t.peers[peer]
	if !ok {
		if len(t.peers) >= t.maxPeers {
			t.sweep(now)
		}
		b = &bucket{tokens: t.burst, at: now}
		t.peers[peer] = b
	}
	t.refill(b, now)
	b.tokens = max(0, b.tokens-1)
}

// sweep forgets the peers whose buckets are full again, and if that is not
// enough, all of them: memory stays bounded whatever the number of
// addresses.
func (t *throttle) sweep(now time.Time) {
	for p, b := range t.peers {
		if t.refill(b, now); b.tokens >= t.burst {
			delete(t.peers, p)
		}
	}
	if len(t.peers) >= t.maxPeers {
		clear(t.peers)
	}
}
