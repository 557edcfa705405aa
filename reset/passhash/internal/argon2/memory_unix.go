//go:build unix

package argon2

import (
	"syscall"
	"unsafe"
)

// allocate maps n blocks of anonymous memory, outside the Go heap; if the system refuses, they
// come from the heap instead.
func allocate(n int) *buffer {
	raw, err := syscall.Mmap(-1, 0, n*1024, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return &buffer{blocks: make([]block, n)}
	}
	// The mapping is page-aligned, and a block holds no pointers for the collector to miss.
	return &buffer{blocks: unsafe.Slice((*block)(unsafe.Pointer(&raw[0])), n), raw: raw}
}

// release gives b's memory back to the system.
func (b *buffer) release() {
	if b.raw != nil {
		syscall.Munmap(b.raw)
		b.raw = nil
	}
	b.blocks = nil
}
