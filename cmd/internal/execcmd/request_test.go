package execcmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
)

func TestRequest(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	st := Streams{In: os.Stdin}
	o := &options{env: []string{"A=1", "B="}, timeout: time.Second, session: "s1"}
	req, err := o.request(st, []string{"echo", "a b"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(req.Argv, []string{"echo", "a b"}) || req.Script != "" || req.Timeout != time.Second || req.Session != "s1" ||
		!slices.Equal(req.Env, o.env) || req.BaseDir != wd || req.Dir != "" || req.Stdin != nil || len(req.BaseEnv) != len(os.Environ()) {
		t.Errorf("request %+v", req)
	}

	o = &options{script: "pwd", scriptSet: true, cwd: "rel", cleanEnv: true, stdin: true}
	req, err = o.request(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.Script != "pwd" || req.Dir != filepath.Join(wd, "rel") || req.BaseEnv != nil || req.Stdin == nil {
		t.Errorf("request %+v", req)
	}

	// --cwd adds PWD to the caller's environment, as os/exec does.
	o = &options{cwd: "/tmp"}
	if req, err = o.request(st, []string{"pwd"}); err != nil || !slices.Contains(req.BaseEnv, "PWD=/tmp") {
		t.Errorf("--cwd /tmp: PWD not sent (%v)", err)
	}
	// -t implies -i.
	if req, err = (&options{tty: true}).request(st, []string{"vi"}); err != nil || req.Stdin == nil {
		t.Errorf("-t: stdin not streamed (%v)", err)
	}
}

func TestRequestRefusesMistakes(t *testing.T) {
	for _, tc := range []struct {
		o       options
		argv    []string
		message string
	}{
		{options{}, nil, "nothing to run"},
		{options{script: "x", scriptSet: true}, []string{"y"}, "not both"},
		{options{script: " \n", scriptSet: true}, nil, "empty script"},
		{options{tty: true, json: true}, []string{"x"}, "-t and --json"},
		{options{env: []string{"NOEQUALS"}}, []string{"x"}, `--env "NOEQUALS"`},
		{options{env: []string{"=v"}}, []string{"x"}, "KEY=VALUE"},
	} {
		_, err := tc.o.request(Streams{}, tc.argv)
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%+v %q: %v, want %q", tc.o, tc.argv, err, tc.message)
		}
	}
}

func TestJSONCall(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := &client.Result{ExitCode: 3, Session: "s", PID: 9, QueuedAt: at, StartedAt: at.Add(time.Millisecond), FinishedAt: at.Add(3 * time.Millisecond)}
	line := marshalJSON(jsonOutput{ExitStatus: 3, jsonCall: newJSONCall(res, 5*time.Millisecond, []byte("out\n"), []byte("bad\xff"))})
	var have map[string]any
	if err := json.Unmarshal(line, &have); err != nil || line[len(line)-1] != '\n' {
		t.Fatalf("%q: %v", line, err)
	}
	for k, want := range map[string]any{
		"exit_status": 3.0, "exit_code": 3.0, "session": "s", "pid": 9.0, "queue_us": 1000.0, "run_us": 2000.0,
		"total_us": 5000.0, "stdout": "out\n", "stderr": "bad\ufffd", "stderr_base64": "YmFk/w==",
	} {
		if have[k] != want {
			t.Errorf("%s = %v, want %v", k, have[k], want)
		}
	}
	for _, k := range []string{"error", "stdout_base64"} {
		if _, ok := have[k]; ok {
			t.Errorf("%s present: %s", k, line)
		}
	}
	// A call that never started has only the status and the error.
	line = marshalJSON(jsonOutput{ExitStatus: 125, Error: "no daemon"})
	if string(line) != `{"exit_status":125,"error":"no daemon"}`+"\n" {
		t.Errorf("failed call: %s", line)
	}
}
