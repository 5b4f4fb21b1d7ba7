package client

import (
	"time"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
)

// Status is the daemon's state and figures, as Client.Status returns them.
type Status struct {
	Version   string
	PID       int
	StartedAt time.Time
	// Serving is false while the daemon drains for shutdown.
	Serving bool
	Pool    PoolStatus
	Calls   CallStatus
	// Instance is the daemon process's random id (a client of many
	// daemons tells them apart by it).
	Instance string
	// Identities counts the calls of each TLS client identity (a client
	// certificate's first DNS or URI SAN, else its common name) since the
	// daemon started.
	Identities map[string]int64
	// Sessions describes the sticky sessions, as Client.Sessions does.
	Sessions []SessionInfo
	// HeapLiveBytes is the Go heap the daemon's last garbage collection
	// found live: flat over many calls means they leave nothing behind.
	HeapLiveBytes int64
}

// PoolStatus describes the daemon's sessions and its queue.
type PoolStatus struct {
	// Gauges.
	SessionsIdle, SessionsBusy, SessionsStarting, StickySessions, QueueLength int
	// Counters since the daemon started. Recycled sessions were replaced by
	// policy (max uses, max age, idle); replaced ones were discarded after
	// misbehaving or dying.
	SessionsSpawned, SessionsRecycled, SessionsReplaced, SessionStartFailures int64
	// Limits in force. StickyIdleTimeout 0 means no idle expiry.
	MinIdle, MaxSessions, MaxSticky int
	StickyIdleTimeout               time.Duration
	// Time calls spent queued for a session.
	QueueWaitP50, QueueWaitP99, QueueWaitMax time.Duration
}

// CallStatus counts calls since the daemon started. OK calls exited 0;
// Failed ones exited non-zero or died by a signal of their own; Rejected
// ones were refused before starting (bad input, queue timeout, draining).
type CallStatus struct {
	Started, InFlight, OK, Failed, TimedOut, Cancelled, SessionLost, Rejected int64
	// Call latency (queued to finished) over a recent window.
	LatencyP50, LatencyP90, LatencyP99 time.Duration
}

func statusFromProto(s *pb.StatusResponse) *Status {
	p, c := s.GetPool(), s.GetCalls()
	var ids map[string]int64
	for _, id := range s.GetIdentities() {
		if ids == nil {
			ids = map[string]int64{}
		}
		ids[id.GetIdentity()] = id.GetCalls()
	}
	return &Status{
		Instance:      s.GetInstance(),
		HeapLiveBytes: s.GetHeapLiveBytes(),
		Identities:    ids,
		Sessions:      sessionsFromProto(s.GetSessions()),
		Version:       s.GetVersion(),
		PID:           int(s.GetPid()),
		StartedAt:     asTime(s.GetStartedAt()),
		Serving:       s.GetServing(),
		Pool: PoolStatus{
			SessionsIdle:         int(p.GetSessionsIdle()),
			SessionsBusy:         int(p.GetSessionsBusy()),
			SessionsStarting:     int(p.GetSessionsStarting()),
			StickySessions:       int(p.GetStickySessions()),
			QueueLength:          int(p.GetQueueLength()),
			SessionsSpawned:      p.GetSessionsSpawned(),
			SessionsRecycled:     p.GetSessionsRecycled(),
			SessionsReplaced:     p.GetSessionsReplaced(),
			SessionStartFailures: p.GetSessionStartFailures(),
			MinIdle:              int(p.GetMinIdle()),
			MaxSessions:          int(p.GetMaxSessions()),
			MaxSticky:            int(p.GetMaxSticky()),
			StickyIdleTimeout:    asDuration(p.GetStickyIdleTimeout()),
			QueueWaitP50:         asDuration(p.GetQueueWaitP50()),
			QueueWaitP99:         asDuration(p.GetQueueWaitP99()),
			QueueWaitMax:         asDuration(p.GetQueueWaitMax()),
		},
		Calls: CallStatus{
			Started:     c.GetStarted(),
			InFlight:    c.GetInFlight(),
			OK:          c.GetOk(),
			Failed:      c.GetFailed(),
			TimedOut:    c.GetTimedOut(),
			Cancelled:   c.GetCancelled(),
			SessionLost: c.GetSessionLost(),
			Rejected:    c.GetRejected(),
			LatencyP50:  asDuration(c.GetLatencyP50()),
			LatencyP90:  asDuration(c.GetLatencyP90()),
			LatencyP99:  asDuration(c.GetLatencyP99()),
		},
	}
}
