// Package proto holds the mothreads gRPC API: the definition in
// mothreads/v1/mothreads.proto and, next to it, the Go code generated from it
// (package mothreadsv1, import path
// github.com/mothreads/mothreads/proto/mothreads/v1). The generated files are
// committed; never edit them by hand.
//
// After changing a .proto file, regenerate from the repository root with
//
//	go generate ./proto
//
// It needs only Go: buf (pinned in tools/buf/go.mod) compiles the protos
// itself, with the well-known types built in, and runs protoc-gen-go and
// protoc-gen-go-grpc (pinned in tools/go.mod) through `go tool`, as
// buf.gen.yaml says. .ci/check-generated fails when the committed code is not
// what this command produces.
package proto

//go:generate go tool -modfile=../tools/buf/go.mod buf generate
