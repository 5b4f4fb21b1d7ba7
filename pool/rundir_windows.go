package pool

// lockRunDir locks nothing on Windows, where the directory is in the
// user's own %TEMP%: a directory of a pool that is gone stays there.
func lockRunDir(dir string) (unlock func(), err error) { return func() {}, nil }

// ownDir is false on Windows: the sweep leaves every directory alone, as
// lockRunDir cannot tell a live pool's from a dead one's.
func ownDir(path string) bool { return false }
