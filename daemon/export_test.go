package daemon

// MaxChunk is maxChunk, for the external tests.
const MaxChunk = maxChunk
