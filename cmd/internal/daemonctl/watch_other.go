//go:build !linux

package daemonctl

// watchPeer returns nil: without pidfds the socket file is watched instead.
func watchPeer(string) exitWatch { return nil }
