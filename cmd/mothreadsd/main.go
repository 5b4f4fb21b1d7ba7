// Command mothreadsd is the mothreads daemon: it keeps warm shell sessions
// and runs commands in them for clients over gRPC. See `mothreadsd --help`.
package main

import (
	"context"
	"os"

	"github.com/mothreads/mothreads/cmd/internal/daemoncmd"
)

func main() {
	os.Exit(daemoncmd.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
