package pool

import (
	"io"
	"sync"
)

const chunkSize = 32 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// pumpOut copies the command's output from r to w in chunks of at most
// 32 KiB until r reports EOF or an error, then closes r. Memory is one chunk:
// while w blocks, nothing is read, the pipe fills and the command waits.
//
// If w fails, pumpOut keeps reading and discards, so that a dead consumer
// never wedges the command; the first write error is returned.
func pumpOut(r io.ReadCloser, w io.Writer) error {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	defer r.Close()
	buf := *bp
	var werr error
	for {
		n, err := r.Read(buf)
		if n > 0 && w != nil && werr == nil {
			_, werr = w.Write(buf[:n])
		}
		if err != nil {
			return werr
		}
	}
}

// pumpIn copies the caller's input from r to w until r is exhausted, then
// closes w so the command sees EOF. It stops early when w fails (the command
// has gone). It may outlive the call while r.Read blocks: like os/exec, the
// pool cannot interrupt an arbitrary Reader.
func pumpIn(w io.WriteCloser, r io.Reader) {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	_, _ = io.CopyBuffer(w, r, *bp)
	w.Close()
}
