package daemon

import (
	"time"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
)

// logsChunk bounds the data of one LogsResponse.
const logsChunk = 64 << 10

// logsPoll is how often a following Logs stream checks that its session
// still exists and is the one it started on: the pool offers no signal for
// a session's end, so a stream whose session closed ends within logsPoll.
const logsPoll = 250 * time.Millisecond

// Logs streams a sticky session's background log (see pool.SessionLog).
// Without follow it sends what the ring keeps from the offset asked for and
// ends. With follow it then waits for more and sends it, and ends (OK) when
// the session closes or is replaced by a new one of the same name, when the
// daemon begins its shutdown (a follower must not hold up the drain), or
// with the client's cancel.
func (d *daemon) Logs(req *pb.LogsRequest, stream pb.Mothreads_LogsServer) error {
	if err := checkTop(req.ProtoReflect()); err != nil {
		return err
	}
	name, err := sessionName(req.GetSession())
	if err != nil {
		return err
	}
	info, ok := d.pool.Session(name)
	if !ok {
		return toStatus("logs", noSuchSession(name))
	}
	created := info.Created
	from := req.GetOffset()
	ctx := stream.Context()
	var (
		draining <-chan struct{}
		poll     <-chan time.Time
	)
	if req.GetFollow() {
		draining = d.server.PleaseStop().Done()
		t := time.NewTicker(logsPoll)
		defer t.Stop()
		poll = t.C
	}
	for {
		data, next, more, err := d.pool.SessionLog(name, from)
		if err != nil {
			if req.GetFollow() {
				return nil // closed since the stream began
			}
			return toStatus("logs", err)
		}
		at := next - int64(len(data))
		for len(data) > 0 {
			n := min(len(data), logsChunk)
			if err := stream.Send(&pb.LogsResponse{Data: data[:n], Offset: at, NextOffset: at + int64(n)}); err != nil {
				return err
			}
			data, at = data[n:], at+int64(n)
		}
		from = next
		if !req.GetFollow() {
			return nil
		}
		for waiting := true; waiting; {
			select {
			case <-more:
				waiting = false
			case <-ctx.Done():
				return toStatus("logs", ctx.Err())
			case <-draining:
				return nil
			case <-poll:
				if info, ok := d.pool.Session(name); !ok || !info.Created.Equal(created) {
					return nil
				}
			}
		}
	}
}
