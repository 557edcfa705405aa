//go:build !unix

package argon2

// allocate takes n blocks from the Go heap.
func allocate(n int) *buffer { return &buffer{blocks: make([]block, n)} }

// release leaves b's memory to the garbage collector.
func (b *buffer) release() { b.blocks = nil }
