//go:build linux

package daemon_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mothreads/mothreads/daemon"
	"github.com/mothreads/mothreads/pool"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// stallConn is a client connection whose reads block once stalled: the
// client then stops reading the daemon's responses, as a hung client does.
type stallConn struct {
	net.Conn
	mu      sync.Mutex
	cond    sync.Cond
	stalled bool
	closed  bool
}

// Read reads until stall; from then on it blocks until Close, including a
// read that was already waiting on the socket: what that read gets is
// dropped. Otherwise the client's transport would take in one more batch
// of frames after the stall (a response's first DATA frames, say), the
// call would read that message and open the stream's window for the rest,
// and the daemon would write out a response that was meant to stay
// stalled.
func (c *stallConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	for c.stalled && !c.closed {
		c.cond.Wait()
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.stalled && !c.closed {
		c.cond.Wait()
	}
	if c.closed {
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *stallConn) stall() {
	c.mu.Lock()
	c.stalled = true
	c.mu.Unlock()
}

func (c *stallConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	return c.Conn.Close()
}

// stalledClient dials the daemon on a connection that stops reading once
// the handshake is over (one Status call), and returns the client and the
// connection. The test's cleanup closes both.
func stalledClient(t *testing.T, d *testDaemon) (pb.MothreadsClient, *stallConn) {
	t.Helper()
	dialed := make(chan *stallConn, 1)
	conn, err := grpc.NewClient("passthrough:///stalled",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
			if err != nil {
				return nil, err
			}
			sc := &stallConn{Conn: c}
			sc.cond.L = &sc.mu
			select {
			case dialed <- sc:
			default: // a reconnection after the test closed the first
			}
			return sc, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rpc := pb.NewMothreadsClient(conn)
	if _, err := rpc.Status(context.Background(), &pb.StatusRequest{}); err != nil {
		t.Fatal(err)
	}
	sc := <-dialed
	sc.stall()
	return rpc, sc
}

// buffers returns the daemon's memory budget figures.
func (d *testDaemon) buffers(t *testing.T) *pb.BufferStatus {
	t.Helper()
	st, err := d.rpc.Status(context.Background(), &pb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return st.GetBuffers()
}

// stalledRuns starts n Run calls, each printing size bytes, on clients that
// do not read, and waits until the daemon has answered or refused all of
// them.
func stalledRuns(t *testing.T, d *testDaemon, clients []pb.MothreadsClient, n, size int) {
	t.Helper()
	before := d.buffers(t).GetRefused()
	st0, err := d.rpc.Status(context.Background(), &pb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		rpc := clients[i%len(clients)]
		go func() {
			// Never answered while stalled; ends when the connection closes.
			_, _ = rpc.Run(context.Background(), &pb.RunRequest{Command: &pb.Command{
				Script: []byte("head -c " + strconv.Itoa(size) + " /dev/zero")}})
		}()
	}
	eventually(t, "every stalled Run answered or refused", func() bool {
		st, err := d.rpc.Status(context.Background(), &pb.StatusRequest{})
		if err != nil {
			return false
		}
		done := st.GetCalls().GetOk() - st0.GetCalls().GetOk()
		refused := st.GetBuffers().GetRefused() - before
		return done+refused >= int64(n) && st.GetCalls().GetInFlight() <= int64(n)-done
	})
}

// TestBudgetStalledRunReaders reproduces H4 at small scale: 30 Run calls of
// 512 KiB each (and more until the budget is spent) from clients that stop
// reading. The daemon's own accounting
// never goes over --max-buffered (8 MiB here), one connection never over
// its quarter, calls beyond are refused with ResourceExhausted naming the
// field, a reading client is still served, and closing the stalled
// connections gives everything back.
func TestBudgetStalledRunReaders(t *testing.T) {
	const limit, size = 8 << 20, 512 << 10
	d := startDaemon(t, daemon.Config{MaxBuffered: limit, RunOutputLimit: 1 << 20, Pool: pool.Config{MinIdle: 2, MaxSessions: 4}})

	t.Run("one connection", func(t *testing.T) {
		rpc, sc := stalledClient(t, d)
		stalledRuns(t, d, []pb.MothreadsClient{rpc}, 30, size)
		b := d.buffers(t)
		t.Logf("one stalled connection: held %d, peak %d, refused %d", b.GetHeldBytes(), b.GetPeakBytes(), b.GetRefused())
		if b.GetHeldBytes() > limit/4 || b.GetPeakBytes() > limit {
			t.Errorf("held %d (peak %d) bytes for one connection; its share is %d", b.GetHeldBytes(), b.GetPeakBytes(), limit/4)
		}
		if b.GetHeldBytes() < size {
			t.Errorf("held %d bytes: the stalled responses are not counted", b.GetHeldBytes())
		}
		// Another client is still served, its refusals named.
		resp, err := d.rpc.Run(context.Background(), &pb.RunRequest{Command: &pb.Command{Script: []byte("head -c 300000 /dev/zero")}})
		if err != nil || len(resp.GetStdout()) != 300000 {
			t.Errorf("a reading client's Run: %d bytes, %v", len(resp.GetStdout()), err)
		}
		sc.Close()
		eventually(t, "the closed connection's responses released", func() bool {
			b := d.buffers(t)
			st, _ := d.rpc.Status(context.Background(), &pb.StatusRequest{})
			t.Logf("held %d inflight %d", b.GetHeldBytes(), st.GetCalls().GetInFlight())
			return b.GetHeldBytes() == 0
		})
	})

	t.Run("thirty connections", func(t *testing.T) {
		var clients []pb.MothreadsClient
		var conns []*stallConn
		for range 30 {
			rpc, sc := stalledClient(t, d)
			clients, conns = append(clients, rpc), append(conns, sc)
		}
		refused := d.buffers(t).GetRefused()
		stalledRuns(t, d, clients, 30, size)
		// The calls cut short to the budget's last bytes may be smaller
		// than a stream's flow-control window (64 KiB): such a response
		// is written out whole, into the stalled connection's socket, and
		// leaves the budget. The stalled clients call again until the
		// budget is spent (a call that the budget admits keeps at least
		// its 64 KiB admission, which no longer fits the window).
		for k := 0; k < len(clients) && d.buffers(t).GetHeldBytes() <= limit-64<<10; k++ {
			stalledRuns(t, d, clients[k:k+1], 1, size)
		}
		b := d.buffers(t)
		t.Logf("thirty stalled connections: held %d, peak %d, refused %d", b.GetHeldBytes(), b.GetPeakBytes(), b.GetRefused()-refused)
		if b.GetPeakBytes() > limit {
			t.Errorf("peak %d bytes, over the %d-byte limit", b.GetPeakBytes(), limit)
		}
		// The budget is spent (the last stalled calls were cut short to fit
		// it): a new Run is refused, naming the field.
		if b.GetHeldBytes() <= limit-64<<10 {
			t.Fatalf("held %d bytes: 30 stalled responses of %d bytes should fill the %d-byte budget", b.GetHeldBytes(), size, limit)
		}
		_, err := d.rpc.Run(context.Background(), &pb.RunRequest{Command: &pb.Command{Script: []byte("true")}})
		wantFieldError(t, err, codes.ResourceExhausted, "output_limit")
		if d.buffers(t).GetRefused() == refused {
			t.Error("the refusal is not counted")
		}
		for _, sc := range conns {
			sc.Close()
		}
		eventually(t, "every closed connection's responses released", func() bool { return d.buffers(t).GetHeldBytes() == 0 })
	})
}

// TestBudgetTruncates: a Run whose output outgrows what the budget has
// left still runs to its end; its response is cut at the budget, says so,
// and is released once read.
func TestBudgetTruncates(t *testing.T) {
	const limit = 1 << 20 // a connection's share: 256 KiB
	d := startDaemon(t, daemon.Config{MaxBuffered: limit, RunOutputLimit: 1 << 20})
	resp, err := d.rpc.Run(context.Background(), &pb.RunRequest{Command: &pb.Command{
		Script: []byte("head -c 600000 /dev/zero; echo done >&2; exit 3")}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetStdout()); n > limit/4 || n == 0 || !resp.GetStdoutTruncated() {
		t.Errorf("stdout: %d bytes, truncated %v; want at most %d and truncated", n, resp.GetStdoutTruncated(), limit/4)
	}
	if ex := resp.GetExited(); ex.GetExitCode() != 3 || !strings.Contains(ex.GetMessage(), "--max-buffered") {
		t.Errorf("exited %v: want exit 3 and a message naming --max-buffered", ex)
	}
	eventually(t, "the response released", func() bool { return d.buffers(t).GetHeldBytes() == 0 })
}

// TestBudgetQueuedStdin reproduces H4's second attack at small scale: Exec
// calls with 1 MiB of stdin_data each, queued behind busy sessions. Past
// the budget they are refused at once (not after the queue timeout) with
// ResourceExhausted naming stdin_data, and the daemon never holds more than
// the budget.
func TestBudgetQueuedStdin(t *testing.T) {
	const limit, size = 8 << 20, 1 << 20
	d := startDaemon(t, daemon.Config{MaxBuffered: limit, Pool: pool.Config{MinIdle: 1, MaxSessions: 1, QueueTimeout: time.Minute}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Keep the only session busy until the test ends.
	busy, err := d.rpc.Exec(ctx, &pb.ExecRequest{Command: &pb.Command{Argv: bs("sleep", "300")}})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := busy.Recv(); err != nil || ev.GetStarted() == nil {
		t.Fatalf("first event %v, %v", ev, err)
	}
	stdin := make([]byte, size)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var refused int
	for range 20 {
		wg.Go(func() {
			st, err := d.rpc.Exec(ctx, &pb.ExecRequest{Command: &pb.Command{Script: []byte("wc -c"), StdinData: stdin}})
			if err == nil {
				_, err = st.Recv()
			}
			if status.Code(err) == codes.ResourceExhausted && strings.Contains(err.Error(), `"stdin_data"`) {
				mu.Lock()
				refused++
				mu.Unlock()
			}
		})
	}
	eventually(t, "the calls beyond the budget refused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return refused >= 20-limit/size
	})
	if b := d.buffers(t); b.GetPeakBytes() > limit || b.GetHeldBytes() > limit {
		t.Errorf("held %d, peak %d bytes: over the %d-byte limit", b.GetHeldBytes(), b.GetPeakBytes(), limit)
	}
	cancel()
	wg.Wait()
	eventually(t, "the queued stdin released", func() bool { return d.buffers(t).GetHeldBytes() == 0 })
}

// TestChunkFitsPoolTier: an output event of the daemon's largest chunk
// encodes to 32 KiB, which gRPC's default pool serves from its 32 KiB
// tier; a byte more would take a 1 MiB buffer, cleared on every message.
func TestChunkFitsPoolTier(t *testing.T) {
	n := daemon.MaxChunk
	for _, ev := range []*pb.ExecEvent{
		{Event: &pb.ExecEvent_Stdout{Stdout: make([]byte, n)}},
		{Event: &pb.ExecEvent_Stderr{Stderr: make([]byte, n)}},
	} {
		if size := proto.Size(ev); size != 32<<10 {
			t.Errorf("an event of %d output bytes encodes to %d bytes, want 32768", n, size)
		}
	}
	buf := mem.DefaultBufferPool().Get(32 << 10)
	defer mem.DefaultBufferPool().Put(buf)
	if cap(*buf) != 32<<10 {
		t.Errorf("gRPC's pool serves 32 KiB from a %d-byte buffer", cap(*buf))
	}
}
