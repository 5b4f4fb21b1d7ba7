//go:build !linux

package pool_test

func testHelper() func() { return nil }
