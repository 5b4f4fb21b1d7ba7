package execcmd

import (
	"fmt"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/cmd/internal/cli"
)

// report ends exec: with --json it prints the JSON object first; the
// returned error carries the exit status and any message for stderr.
func (o *options) report(st Streams, e end, res *client.Result, began time.Time, stdout, stderr []byte) error {
	if o.json {
		out := jsonOutput{ExitStatus: e.code}
		if e.err != nil {
			out.Error = e.err.Error()
		}
		if res != nil {
			out.jsonCall = newJSONCall(res, time.Since(began), stdout, stderr)
		}
		if _, err := st.Out.Write(marshalJSON(out)); err != nil {
			return cli.Exit(cli.ExitFailed, fmt.Errorf("writing the JSON result: %w", err))
		}
	}
	return e.exitError()
}
