// Command mothreads runs commands in warm shell sessions kept by a daemon,
// starting the daemon when none runs. See `mothreads --help`.
package main

import (
	"context"
	"os"

	"github.com/mothreads/mothreads/cmd/internal/mothreadscmd"
)

func main() {
	os.Exit(mothreadscmd.Main(context.Background(), os.Args[1:]))
}
