//go:build linux

package bash

import (
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mothreads/mothreads/pool/internal/driver"
)

// TestRouteRefusesReportsOutOfTurn: a report that parses is still checked
// against what is due: a slot that exists and waits for that report.
func TestRouteRefusesReportsOutOfTurn(t *testing.T) {
	s := &Shell{spec: &driver.Spec{}, slots: map[int]*slot{}, lateForks: map[int]int{9: 900}}
	s.slots[1] = &slot{n: 1, pidfd: -1}                 // announced, no report yet
	s.slots[2] = &slot{n: 2, pidfd: -1, pid: 200}       // forked: pid known
	s.slots[3] = &slot{n: 3, pidfd: -1, sawFork: true}  // fork report came
	s.slots[4] = &slot{n: 4, pidfd: -1, pid: 400}       // ready, not handed to a call
	s.slots[5] = &slot{n: 5, pidfd: -1, pid: 500}       // handed to a call, set up
	s.slots[6] = &slot{n: 6, pidfd: -1, failed: "dead"} // failed: late reports are dropped
	s.slots[4].ready.Go()
	s.slots[5].ready.Go()
	s.slots[5].used = true
	s.slots[5].setup.Go()
	bad := []struct {
		why  string
		line string
	}{
		{"fork report for a slot never announced", "k 7 700"},
		{"fork report naming another pid than the late one", "k 9 901"},
		{"second fork report", "k 3 300"},
		{"fork report naming another pid than the child's", "k 2 201"},
		{"ready for a slot never announced", "r 7 700"},
		{"ready twice", "r 4 400"},
		{"ready naming another pid", "r 2 201"},
		{"failed for a slot never announced", "F 7"},
		{"failed after ready", "F 4"},
		{"set-up report for a slot never announced", "s 7"},
		{"set-up report for a slot not handed to a call", "s 1"},
		{"set-up report twice", "s 5"},
		{"error report for a slot not handed to a call", "e 4 cwd"},
		{"sticky report in an isolated session", "d 5 0"},
		{"fence in an isolated session", "z 5 0"},
	}
	for _, c := range bad {
		r, err := parseReport(c.line)
		if err != nil {
			t.Fatalf("%s: %q does not parse: %v", c.why, c.line, err)
		}
		if err := s.route(r); !errors.Is(err, errBadReport) {
			t.Errorf("%s: route(%q) = %v, want errBadReport", c.why, c.line, err)
		}
	}
	for _, line := range []string{"r 6 600", "F 6", "k 9 900"} {
		r, _ := parseReport(line)
		if err := s.route(r); err != nil {
			t.Errorf("route(%q) = %v, want it accepted (a late report of a slot that is gone)", line, err)
		}
	}
	if _, ok := s.lateForks[9]; ok {
		t.Error("the late fork report did not clear its entry")
	}
}

// TestRouteStickyInTurn: a sticky call's reports come in one order, for the
// call in progress only.
func TestRouteStickyInTurn(t *testing.T) {
	s := &Shell{spec: &driver.Spec{Sticky: true}, slots: map[int]*slot{}}
	route := func(line string) error {
		r, err := parseReport(line)
		if err != nil {
			t.Fatalf("%q does not parse: %v", line, err)
		}
		return s.route(r)
	}
	if err := route("d 1 0"); !errors.Is(err, errBadReport) {
		t.Errorf("done with no call running: %v", err)
	}
	st := &stickyCalls{slot: 3}
	s.sticky = st
	steps := []struct {
		line string
		ok   bool
	}{
		{"d 3 0", false}, // done before started
		{"s 4", false},   // another call
		{"s 3", true},
		{"s 3", false}, // started twice
		{"e 3 cwd", false},
		{"d 2 0", false},
		{"d 3 7", true},
		{"d 3 7", false}, // done twice
		{"z 3 7", true},
		{"z 3 7", false}, // fenced: nothing more for it
	}
	for _, step := range steps {
		if err := route(step.line); (err == nil) != step.ok {
			t.Errorf("route(%q) = %v, want ok=%v", step.line, err, step.ok)
		}
	}
	if st.status != 7 || !st.fenced.Fired() || st.interrupted {
		t.Errorf("call state %+v", st)
	}
	// The fence of the last call, after the next one began: it is the
	// unfenced call's, not the running one's.
	prev := &stickyCalls{slot: 3}
	prev.started.Go()
	prev.done.Go()
	s.unfenced, s.sticky = prev, &stickyCalls{slot: 4}
	if err := route("z 3 0"); err != nil || !prev.fenced.Fired() || s.unfenced != nil {
		t.Errorf("late fence: %v, fenced %v", err, prev.fenced.Fired())
	}
	// An interrupted line: the fence alone ends the call, with its status.
	if err := route("z 4 130"); err != nil || !s.sticky.interrupted || s.sticky.status != 130 {
		t.Errorf("interrupted call: %v, %+v", err, s.sticky)
	}
}

// feedPair returns a lineFeed's file (our end of a socketpair, on the
// runtime poller) and the other end.
func feedPair(t *testing.T) (ours, theirs *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(fds[0], true)
	ours, theirs = os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	t.Cleanup(func() { ours.Close(); theirs.Close() })
	return ours, theirs
}

func TestLineFeed(t *testing.T) {
	ours, theirs := feedPair(t)
	var mu sync.Mutex
	var lines []string
	feed, err := newLineFeed(ours, []byte("s 1\npart"), func(b []byte) error {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- feed.run() }()
	theirs.Write([]byte("ial\nk 2 3\n"))
	// sync handles what the stream holds when it is called.
	theirs.Write([]byte("\xff\x00\n"))
	feed.sync()
	mu.Lock()
	got := slices.Clone(lines)
	mu.Unlock()
	if want := []string{"s 1", "partial", "k 2 3", "\xff\x00"}; !slices.Equal(got, want) {
		t.Errorf("after sync: %q, want %q", got, want)
	}
	theirs.Write([]byte("no newline at the end"))
	theirs.Close()
	if err := <-done; !errors.Is(err, errEnded) {
		t.Errorf("run at the end of the stream = %v, want errEnded", err)
	}
	if len(lines) != 4 {
		t.Errorf("a line with no newline was handled: %q", lines)
	}
}

// TestLineFeedRefusesLongLine: a line longer than maxLine ends the feed,
// however it comes (the shell writes short reports only).
func TestLineFeedRefusesLongLine(t *testing.T) {
	for _, pending := range []int{0, maxLine + 1} {
		ours, theirs := feedPair(t)
		handled := 0
		feed, _ := newLineFeed(ours, []byte(strings.Repeat("p", pending)), func([]byte) error { handled++; return nil })
		done := make(chan error, 1)
		go func() { done <- feed.run() }()
		// A writer that never stops: the feed must end on its own.
		// It stops when our end closes (EPIPE).
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			chunk := []byte(strings.Repeat("x", 1024))
			for {
				if _, err := theirs.Write(chunk); err != nil {
					return
				}
			}
		}()
		err := <-done
		ours.Close()
		<-wrote
		if !errors.Is(err, errBadReport) || handled != 0 {
			t.Errorf("pending %d: run = %v after %d lines, want errBadReport", pending, err, handled)
		}
	}
}

// TestLineFeedHandlerErrorEnds: a handler's error ends the feed with it.
func TestLineFeedHandlerErrorEnds(t *testing.T) {
	ours, theirs := feedPair(t)
	boom := errors.New("boom")
	n := 0
	feed, _ := newLineFeed(ours, nil, func([]byte) error { n++; return boom })
	done := make(chan error, 1)
	go func() { done <- feed.run() }()
	theirs.Write([]byte("a\nb\nc\n"))
	if err := <-done; !errors.Is(err, boom) || n != 1 {
		t.Errorf("run = %v after %d lines, want boom after 1", err, n)
	}
}
