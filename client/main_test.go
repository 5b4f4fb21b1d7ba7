package client_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind. Every
// test closes its clients and stops its servers in its cleanup, and the
// tests that use the shared default client close it; grpc's own goroutines
// end with them, and goleak retries for a while to let them finish.
//
// In helper mode it is a planted daemon of another user instead (see
// runPlant).
func TestMain(m *testing.M) {
	if dir := os.Getenv(plantEnv); dir != "" {
		os.Exit(runPlant(dir))
	}
	goleak.VerifyTestMain(m)
}

// bs is ss as the proto's repeated bytes.
func bs(ss ...string) [][]byte {
	b := make([][]byte, len(ss))
	for i, s := range ss {
		b[i] = []byte(s)
	}
	return b
}

// strs is the proto's repeated bytes as strings; nil stays nil.
func strs(b [][]byte) []string {
	if b == nil {
		return nil
	}
	s := make([]string, len(b))
	for i, v := range b {
		s[i] = string(v)
	}
	return s
}
