package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Cmd is a command run by the daemon, shaped like os/exec.Cmd so that
// switching is one line:
//
//	cmd := exec.CommandContext(ctx, "make", "test")   // before
//	cmd := client.Command(ctx, "make", "test")        // after
//
// The differences: the command name is resolved by the session's shell
// (functions, builtins, then PATH), not by exec.LookPath; Args[0] is not
// sent (the command sees Path as its name); Start waits until the daemon
// runs the command (past its queue); a cancelled context makes Wait return
// an error wrapping ctx.Err() rather than an *ExitError; and an error from
// the daemon itself is a *DaemonError or *RequestError (see the package
// documentation). A Cmd cannot be reused after Run, Output or
// CombinedOutput.
type Cmd struct {
	// Path is the command to run, as given to Command.
	Path string
	// Args holds the command name in Args[0] (not sent) and the arguments.
	Args []string
	// Dir is the working directory; "" means the caller's current directory
	// (it is sent as an absolute path, as is a relative Dir).
	Dir string
	// Env is the command's environment, as KEY=VALUE entries. nil means the
	// caller's environment (os.Environ(), plus PWD=Dir when Dir is set, as
	// os/exec does); a non-nil Env is exactly the environment, so an empty
	// one is empty. The session's init script still applies over either.
	Env []string
	// Stdin is the command's standard input; nil means the null device.
	// Except for a small in-memory reader it is streamed while the command
	// runs (see Process.Wait for when Wait waits for it).
	Stdin io.Reader
	// Stdout and Stderr receive the command's output; nil discards it. When
	// they are the same writer, only one goroutine writes at a time.
	Stdout, Stderr io.Writer
	// Client is the daemon to use; nil means a shared Client dialled at
	// DefaultSocketPath on first use (see CloseDefault).
	Client *Client
	// Timeout bounds the command's run time on the daemon (0: the daemon's
	// default); on expiry the command is killed and Wait returns an
	// *ExitError whose TimedOut is true.
	Timeout time.Duration
	// Session runs the command in the named sticky session (see
	// Request.Session): its state persists across the calls that name it.
	// Env (or the caller's environment) and the caller's directory then
	// apply only when the call creates the session, as a terminal opened
	// there would start; a Dir that is set applies to every call.
	Session string
	// SessionIdleTimeout and OpenStdin are as in Request.
	SessionIdleTimeout time.Duration
	OpenStdin          bool

	// Process is set by Start.
	Process *Process
	// Result is set by Wait, like os/exec's ProcessState.
	Result *Result

	ctx     context.Context
	started bool
	waited  bool
}

// Command returns a Cmd that runs name with the given arguments. ctx bounds
// the call: when it is done, the daemon kills the command. It panics when
// ctx is nil, as exec.CommandContext does.
func Command(ctx context.Context, name string, arg ...string) *Cmd {
	if ctx == nil {
		panic("nil Context")
	}
	return &Cmd{ctx: ctx, Path: name, Args: append([]string{name}, arg...)}
}

// String returns the command line, for messages.
func (c *Cmd) String() string {
	b := new(strings.Builder)
	b.WriteString(c.Path)
	if len(c.Args) > 1 {
		for _, a := range c.Args[1:] {
			b.WriteByte(' ')
			b.WriteString(a)
		}
	}
	return b.String()
}

// Run starts the command and waits for it. The error is nil when it exited
// with status 0; an *ExitError when it exited non-zero, died by a signal,
// timed out or lost its session; otherwise an error about the call (as
// Start and Wait say).
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Start starts the command and returns once the daemon runs it. It fails
// with a *RequestError when the daemon refuses the command
// (errors.Is(err, ErrNotFound) when the name is not found), with a
// *DaemonError when the daemon is unreachable (errors.Is(err,
// ErrUnavailable)), or with an error wrapping ctx.Err(). After a successful
// Start, call Wait.
func (c *Cmd) Start() error {
	if c.started {
		return errors.New("exec: already started")
	}
	c.started = true
	if c.Path == "" {
		return errors.New("exec: no command")
	}
	req, err := c.request()
	if err != nil {
		return err
	}
	cl := c.Client
	if cl == nil {
		if cl, err = defaultClient(c.ctx); err != nil {
			return err
		}
	}
	p, err := cl.start(c.ctx, req, c.Stdout, c.Stderr, false)
	if err != nil {
		return err
	}
	if !p.ended.Load() {
		go p.receive()
	}
	c.Process = p
	return nil
}

// request builds the Request with the os/exec defaults filled in.
func (c *Cmd) request() (*Request, error) {
	argv := []string{c.Path}
	if len(c.Args) > 1 {
		argv = append(argv, c.Args[1:]...)
	}
	var dir string
	var err error
	if c.Dir == "" {
		dir, err = os.Getwd()
	} else {
		dir, err = filepath.Abs(c.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("mothreads: %s: working directory: %w", c.Path, err)
	}
	base := c.Env
	if base == nil {
		base = os.Environ()
		if c.Dir != "" && runtime.GOOS != "windows" && runtime.GOOS != "plan9" {
			base = append(base, "PWD="+dir)
		}
	}
	req := &Request{Argv: argv, BaseEnv: base, Stdin: c.Stdin, Timeout: c.Timeout,
		Session: c.Session, SessionIdleTimeout: c.SessionIdleTimeout, OpenStdin: c.OpenStdin}
	if c.Dir == "" {
		req.BaseDir = dir
	} else {
		req.Dir = dir
	}
	return req, nil
}

// Wait waits for the command started by Start and sets Result. Its error is
// as Run's; when the context ended the call it wraps ctx.Err().
func (c *Cmd) Wait() error {
	if c.Process == nil {
		return errors.New("exec: not started")
	}
	if c.waited {
		return errors.New("exec: Wait was already called")
	}
	c.waited = true
	res, err := c.Process.Wait()
	c.Result = res
	if err != nil {
		return err
	}
	if !res.Success() {
		return &ExitError{Result: res}
	}
	return nil
}

// Output runs the command and returns its standard output. When the command
// fails and Stderr is nil, the *ExitError carries the start and end of its
// standard error.
func (c *Cmd) Output() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("exec: Stdout already set")
	}
	var stdout bytes.Buffer
	c.Stdout = &stdout
	var saved *headTail
	if c.Stderr == nil {
		saved = &headTail{n: 32 << 10}
		c.Stderr = saved
	}
	err := c.Run()
	if ee, ok := err.(*ExitError); ok && saved != nil {
		ee.Stderr = saved.bytes()
	}
	return stdout.Bytes(), err
}

// CombinedOutput runs the command and returns its standard output and
// standard error together, in the order the daemon sent them.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("exec: Stdout already set")
	}
	if c.Stderr != nil {
		return nil, errors.New("exec: Stderr already set")
	}
	var b bytes.Buffer
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	return b.Bytes(), err
}

// headTail keeps the first and the last n bytes written to it.
type headTail struct {
	n       int
	head    []byte
	tail    []byte // the last bytes after head, at most 2n before trimming
	skipped int64
}

func (h *headTail) Write(p []byte) (int, error) {
	written := len(p)
	if room := h.n - len(h.head); room > 0 {
		k := min(room, len(p))
		h.head = append(h.head, p[:k]...)
		p = p[k:]
	}
	h.tail = append(h.tail, p...)
	if over := len(h.tail) - h.n; over > 0 && len(h.tail) >= 2*h.n {
		h.skipped += int64(over)
		h.tail = append(h.tail[:0], h.tail[over:]...)
	}
	return written, nil
}

func (h *headTail) bytes() []byte {
	tail, skipped := h.tail, h.skipped
	if over := len(tail) - h.n; over > 0 {
		tail, skipped = tail[over:], skipped+int64(over)
	}
	if skipped == 0 {
		return append(h.head[:len(h.head):len(h.head)], tail...)
	}
	out := append([]byte(nil), h.head...)
	out = append(out, "\n... omitting "+strconv.FormatInt(skipped, 10)+" bytes ...\n"...)
	return append(out, tail...)
}
