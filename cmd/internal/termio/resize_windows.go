package termio

// NotifyResize never sends on Windows, which has no SIGWINCH: the remote
// terminal keeps the size it started with.
func NotifyResize(chan<- struct{}) (stop func()) { return func() {} }
