// Command mothreadsd is the mothreads daemon: it keeps warm shell sessions
// and runs commands in them for clients over gRPC. See `mothreadsd --help`.
package main

import (
	"context"
	"os"

	"github.com/mothreads/mothreads/cmd/internal/daemoncmd"
	"github.com/mothreads/mothreads/pool"
)

func main() {
	pool.Launch() // a session shell started through this binary never returns from here
	os.Exit(daemoncmd.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
