package pool_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/mothreads/mothreads/pool"
	"github.com/mothreads/mothreads/threads"
)

func TestSmoke(t *testing.T) {
	root := threads.NewRoot("test", threads.Logger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	defer func() { root.Stop(); root.Join() }()
	p, err := pool.New(root, pool.Config{MinIdle: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []*pool.Request{
		{Script: "echo hello; echo err >&2; exit 3"},
		{Script: "false"},
		{Script: "printf foo"},
		{Argv: []string{"echo", "a  b", "$HOME"}},
		{Argv: []string{"/bin/echo", "direct"}},
		{Script: "kill -9 $BASHPID"},
		{Script: "echo done; exit 130"},
	} {
		var out, errb bytes.Buffer
		req.Stdout, req.Stderr = &out, &errb
		r, err := p.Run(context.Background(), req)
		if err != nil {
			t.Fatalf("%v: %v", req, err)
		}
		t.Logf("%q %q -> %v out=%q err=%q", req.Argv, req.Script, r, out.String(), errb.String())
	}
}
