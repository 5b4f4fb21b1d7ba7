package pool_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/mothreads/mothreads/pool"
)

func TestMain(m *testing.M) {
	pool.Launch()
	if helper := testHelper(); helper != nil {
		helper()
		return
	}
	goleak.VerifyTestMain(m)
}

// launcher is this test binary: it calls pool.Launch first thing.
func launcher() string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return exe
}
