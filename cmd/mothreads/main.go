// Command mothreads runs commands in warm shell sessions kept by a daemon,
// starting the daemon when none runs. See `mothreads --help`.
package main

import (
	"context"
	"os"

	"github.com/mothreads/mothreads/cmd/internal/mothreadscmd"
	"github.com/mothreads/mothreads/pool"
)

func main() {
	pool.Launch() // a session shell started through this binary never returns from here
	os.Exit(mothreadscmd.Main(context.Background(), os.Args[1:]))
}
