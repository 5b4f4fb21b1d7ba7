package pool_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if helper := testHelper(); helper != nil {
		helper()
		return
	}
	goleak.VerifyTestMain(m)
}
