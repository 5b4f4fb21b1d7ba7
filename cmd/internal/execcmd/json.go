package execcmd

import (
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/mothreads/mothreads/client"
)

// jsonOutput is what --json prints: one object on one line. exit_status is
// always there (what mothreads exits with); error when mothreads has
// something to report (the same text as on stderr); the fields of jsonCall
// whenever the command started.
type jsonOutput struct {
	ExitStatus int    `json:"exit_status"`
	Error      string `json:"error,omitempty"`
	*jsonCall
}

// jsonCall is the result of a call that started. Times are the daemon's
// clock (RFC 3339); durations are whole microseconds: queue_us from
// queued_at to started_at, run_us from started_at to finished_at, total_us
// the call as the CLI saw it (connecting included). stdout and stderr hold
// the captured output as text; when a stream is not valid UTF-8, its text
// has the bad bytes replaced and its exact bytes are in stdout_base64 or
// stderr_base64 (present only then).
type jsonCall struct {
	ExitCode     int        `json:"exit_code"`
	Signal       int        `json:"signal"`
	CoreDumped   bool       `json:"core_dumped"`
	TimedOut     bool       `json:"timed_out"`
	Cancelled    bool       `json:"cancelled"`
	Interrupted  bool       `json:"interrupted"` // a sticky call's command was interrupted; the session is kept
	SessionLost  bool       `json:"session_lost"`
	Message      string     `json:"message"`
	Session      string     `json:"session"`
	PID          int        `json:"pid"`
	QueuedAt     *time.Time `json:"queued_at,omitempty"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	QueueUS      int64      `json:"queue_us"`
	RunUS        int64      `json:"run_us"`
	TotalUS      int64      `json:"total_us"`
	Stdout       string     `json:"stdout"`
	Stderr       string     `json:"stderr"`
	StdoutBase64 []byte     `json:"stdout_base64,omitempty"`
	StderrBase64 []byte     `json:"stderr_base64,omitempty"`
}

func newJSONCall(res *client.Result, total time.Duration, stdout, stderr []byte) *jsonCall {
	j := &jsonCall{
		ExitCode:    res.ExitCode,
		Signal:      int(res.Signal),
		CoreDumped:  res.CoreDumped,
		TimedOut:    res.TimedOut,
		Interrupted: res.Interrupted,
		Cancelled:   res.Cancelled,
		SessionLost: res.SessionLost,
		Message:     res.Message,
		Session:     res.Session,
		PID:         res.PID,
		QueuedAt:    timeOrNil(res.QueuedAt),
		StartedAt:   timeOrNil(res.StartedAt),
		FinishedAt:  timeOrNil(res.FinishedAt),
		QueueUS:     micros(res.QueuedAt, res.StartedAt),
		RunUS:       micros(res.StartedAt, res.FinishedAt),
		TotalUS:     total.Microseconds(),
		Stdout:      string(stdout),
		Stderr:      string(stderr),
	}
	if !utf8.Valid(stdout) {
		j.StdoutBase64 = stdout
	}
	if !utf8.Valid(stderr) {
		j.StderrBase64 = stderr
	}
	return j
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// micros is b-a in microseconds, 0 when either is unknown.
func micros(a, b time.Time) int64 {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return b.Sub(a).Microseconds()
}

// marshalJSON renders out as one line.
func marshalJSON(out jsonOutput) []byte {
	b, err := json.Marshal(out)
	if err != nil { // only plain types inside
		panic(err)
	}
	return append(b, '\n')
}
