// Package argon2 computes Argon2id and Argon2i (RFC 9106, version 0x13) with memory that is
// reused from one hash to the next instead of allocated for each.
//
// golang.org/x/crypto/argon2 allocates its m KiB of blocks on the Go heap for every call: 19 MiB
// at OWASP's m=19456, so a burst of resets makes the garbage collector run once or twice per
// hash, and its mark phase and assists land on the proxied requests (issue 17). Here the blocks
// come from [memory]: a few buffers kept outside the Go heap (mmap on Unix), handed to one hash
// at a time and unmapped when no hash has wanted them for a while. The collector never sees
// them, and the process's memory stays at the base plus one buffer per concurrent hash.
//
// The lanes are computed one after the other on the calling goroutine, whatever the
// parallelism parameter p says. The result is the same (within a slice, a lane reads only the
// segments that other lanes finished in earlier slices), and the work stays on the thread the
// caller chose: resetgate hashes on low-priority threads, and goroutines started here would run
// at normal priority beside the proxy.
package argon2

import (
	"encoding/binary"

	"golang.org/x/crypto/blake2b"
)

// Version is the only Argon2 version computed, 0x13 (19).
const Version = 0x13

// Variant is Argon2's type y.
type Variant uint32

const (
	Argon2i  Variant = 1
	Argon2id Variant = 2
)

const (
	blockWords    = 128 // a block is 1024 bytes
	syncPoints    = 4   // slices per pass
	addressesEach = blockWords
)

type block [blockWords]uint64

// Params are a hash's inputs besides the password and salt. Secret and Data are RFC 9106's K
// and X, empty for every password format resetgate writes.
type Params struct {
	Variant Variant
	Time    uint32 // passes, ≥ 1
	Memory  uint32 // KiB, ≥ 8 × Threads
	Threads uint8  // lanes, ≥ 1
	KeyLen  uint32 // tag length in bytes, ≥ 4
	Secret  []byte
	Data    []byte
}

// Key returns the Argon2 tag of password and salt. Parameters out of range panic, as in
// golang.org/x/crypto/argon2: the caller parses and bounds them first.
func Key(password, salt []byte, p Params) []byte {
	if p.Time < 1 || p.Threads < 1 || p.KeyLen < 4 || p.Memory < 8*uint32(p.Threads) ||
		(p.Variant != Argon2i && p.Variant != Argon2id) {
		panic("argon2: parameters out of range")
	}
	lanes := uint32(p.Threads)
	// m' = 4p ⌊m / 4p⌋ blocks, q = m'/p per lane.
	total := p.Memory / (syncPoints * lanes) * (syncPoints * lanes)
	h0 := initialHash(password, salt, p)

	buf := memory.get(int(total))
	defer memory.put(buf)
	b := buf.blocks

	laneLen := total / lanes
	var seed [blake2b.Size + 8]byte
	copy(seed[:], h0[:])
	var first [1024]byte
	for l := uint32(0); l < lanes; l++ {
		for j := uint32(0); j < 2; j++ {
			binary.LittleEndian.PutUint32(seed[blake2b.Size:], j)
			binary.LittleEndian.PutUint32(seed[blake2b.Size+4:], l)
			variableHash(first[:], seed[:])
			b[l*laneLen+j].load(first[:])
		}
	}

	f := filler{blocks: b, laneLen: laneLen, segLen: laneLen / syncPoints, lanes: lanes,
		total: total, passes: p.Time, variant: p.Variant}
	for pass := uint32(0); pass < p.Time; pass++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			for lane := uint32(0); lane < lanes; lane++ {
				f.segment(pass, slice, lane)
			}
		}
	}

	final := b[laneLen-1]
	for l := uint32(1); l < lanes; l++ {
		last := &b[l*laneLen+laneLen-1]
		for i := range final {
			final[i] ^= last[i]
		}
	}
	final.store(first[:])
	tag := make([]byte, p.KeyLen)
	variableHash(tag, first[:])
	return tag
}

// initialHash is H0, the BLAKE2b-512 of the parameters and the inputs, each length-prefixed.
func initialHash(password, salt []byte, p Params) [blake2b.Size]byte {
	h, _ := blake2b.New512(nil)
	var n [4]byte
	word := func(v uint32) {
		binary.LittleEndian.PutUint32(n[:], v)
		h.Write(n[:])
	}
	field := func(v []byte) {
		word(uint32(len(v)))
		h.Write(v)
	}
	word(uint32(p.Threads))
	word(p.KeyLen)
	word(p.Memory)
	word(p.Time)
	word(Version)
	word(uint32(p.Variant))
	field(password)
	field(salt)
	field(p.Secret)
	field(p.Data)
	var sum [blake2b.Size]byte
	h.Sum(sum[:0])
	return sum
}

// variableHash is H'^T: it fills out (T = len(out) bytes) from in, with one BLAKE2b of T
// bytes when T ≤ 64, else a chain of BLAKE2b-512 whose first halves make up the output and
// whose last link has the remaining length.
func variableHash(out, in []byte) {
	var t [4]byte
	binary.LittleEndian.PutUint32(t[:], uint32(len(out)))
	if len(out) <= blake2b.Size {
		h, _ := blake2b.New(len(out), nil)
		h.Write(t[:])
		h.Write(in)
		h.Sum(out[:0])
		return
	}
	h, _ := blake2b.New512(nil)
	h.Write(t[:])
	h.Write(in)
	var v [blake2b.Size]byte
	h.Sum(v[:0])
	for len(out) > blake2b.Size {
		copy(out, v[:32])
		out = out[32:]
		if len(out) > blake2b.Size {
			v = blake2b.Sum512(v[:])
		}
	}
	h, _ = blake2b.New(len(out), nil)
	h.Write(v[:])
	h.Sum(out[:0])
}

func (b *block) load(src []byte) {
	for i := range b {
		b[i] = binary.LittleEndian.Uint64(src[8*i:])
	}
}

func (b *block) store(dst []byte) {
	for i, w := range b {
		binary.LittleEndian.PutUint64(dst[8*i:], w)
	}
}
