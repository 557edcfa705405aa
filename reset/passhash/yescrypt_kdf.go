package passhash

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// yescrypt's KDF, implemented from its specification (Solar Designer's yescrypt 1.1, as
// libxcrypt ships it): scrypt's SMix with two changes. The block mix is pwxform, which
// multiplies 64-bit lanes and looks them up in three 4 KiB S-boxes that it also rewrites, and
// the first SMix loop also reads earlier blocks, while the second rewrites the blocks it
// reads (YESCRYPT_RW). Only the flavour libxcrypt writes is implemented: YESCRYPT_RW with
// 6 pwxform rounds, gather 4, simple 2 and a 12 KiB S-box ("$y$j…", flags 0xb6), without a
// ROM.
//
// The words of each 64-byte block are kept in the specification's "SIMD-shuffled" order
// (word i of the working copy is word i·5 mod 16 of the block), because pwxform pairs the
// shuffled words into its 64-bit lanes and the S-boxes hold blocks in that order.
const (
	yescryptDefaults = 0x0b6 // RW | ROUNDS_6 | GATHER_4 | SIMPLE_2 | SBOX_12K
	yescryptPrehash  = 0x10000000

	pwxSimple = 2
	pwxGather = 4
	pwxRounds = 6
	pwxWidth  = 8                                     // log2 of the S-box entries
	pwxSBytes = 3 * (1 << pwxWidth) * pwxSimple * 8   // 12288: S0, S1 and S2
	pwxSMask  = ((1 << pwxWidth) - 1) * pwxSimple * 8 // byte offset of an entry
	pwxSWords = pwxSBytes / 4                         // the S-boxes in 32-bit words
	pwxLanes  = pwxSBytes / 8                         // the S-boxes in 64-bit lanes
	pwxWMask  = (1 << pwxWidth) - 1                   // S2's write position wraps
	ysBlock   = 16                                    // 32-bit words in a 64-byte block
)

// pwxCtx is one thread's S-boxes: s holds S0, S1 and S2 as 64-bit lanes (each word pair
// of the blocks a Salsa20/8 SMix left there, low word first), s0, s1 and s2 are their offsets
// in s, and w is the next S2 entry pwxform writes.
type pwxCtx struct {
	s          [pwxLanes]uint64
	s0, s1, s2 int
	w          int
}

func newPwxCtx(sbox []uint32) *pwxCtx {
	c := &pwxCtx{s1: pwxLanes / 3, s0: 2 * pwxLanes / 3}
	for i := range c.s {
		c.s[i] = uint64(sbox[2*i]) | uint64(sbox[2*i+1])<<32
	}
	return c
}

// pwxform transforms one 64-byte block b (16 shuffled words = 4 gathers × 2 simple 64-bit
// lanes, low word first).
func (c *pwxCtx) pwxform(b []uint32) {
	b = b[:ysBlock]
	var x [pwxGather * pwxSimple]uint64
	for i := range x {
		x[i] = uint64(b[2*i]) | uint64(b[2*i+1])<<32
	}
	s := &c.s
	s0, s1, s2, w := c.s0, c.s1, c.s2, c.w
	for i := range pwxRounds {
		for j := 0; j < len(x); j += pwxSimple {
			lo, hi := uint32(x[j]), uint32(x[j]>>32)
			p0 := s0 + int(lo&pwxSMask)/8
			p1 := s1 + int(hi&pwxSMask)/8
			for k := range pwxSimple {
				v := x[j+k]
				v = (v>>32)*(v&0xffffffff) + s[p0+k]
				x[j+k] = v ^ s[p1+k]
			}
			if i != 0 && i != pwxRounds-1 {
				copy(s[s2+w*pwxSimple:], x[j:j+pwxSimple])
				w++
			}
		}
	}
	c.s0, c.s1, c.s2 = s2, s0, s1
	c.w = w & pwxWMask
	for i, v := range x {
		b[2*i], b[2*i+1] = uint32(v), uint32(v>>32)
	}
}

// salsa20 applies Salsa20/rounds with its feed-forward to one block in shuffled order.
func salsa20(b []uint32, rounds int) {
	var x [16]uint32
	for i := range 16 {
		x[i*5%16] = b[i]
	}
	for i := 0; i < rounds; i += 2 {
		x[4] ^= bits.RotateLeft32(x[0]+x[12], 7)
		x[8] ^= bits.RotateLeft32(x[4]+x[0], 9)
		x[12] ^= bits.RotateLeft32(x[8]+x[4], 13)
		x[0] ^= bits.RotateLeft32(x[12]+x[8], 18)
		x[9] ^= bits.RotateLeft32(x[5]+x[1], 7)
		x[13] ^= bits.RotateLeft32(x[9]+x[5], 9)
		x[1] ^= bits.RotateLeft32(x[13]+x[9], 13)
		x[5] ^= bits.RotateLeft32(x[1]+x[13], 18)
		x[14] ^= bits.RotateLeft32(x[10]+x[6], 7)
		x[2] ^= bits.RotateLeft32(x[14]+x[10], 9)
		x[6] ^= bits.RotateLeft32(x[2]+x[14], 13)
		x[10] ^= bits.RotateLeft32(x[6]+x[2], 18)
		x[3] ^= bits.RotateLeft32(x[15]+x[11], 7)
		x[7] ^= bits.RotateLeft32(x[3]+x[15], 9)
		x[11] ^= bits.RotateLeft32(x[7]+x[3], 13)
		x[15] ^= bits.RotateLeft32(x[11]+x[7], 18)

		x[1] ^= bits.RotateLeft32(x[0]+x[3], 7)
		x[2] ^= bits.RotateLeft32(x[1]+x[0], 9)
		x[3] ^= bits.RotateLeft32(x[2]+x[1], 13)
		x[0] ^= bits.RotateLeft32(x[3]+x[2], 18)
		x[6] ^= bits.RotateLeft32(x[5]+x[4], 7)
		x[7] ^= bits.RotateLeft32(x[6]+x[5], 9)
		x[4] ^= bits.RotateLeft32(x[7]+x[6], 13)
		x[5] ^= bits.RotateLeft32(x[4]+x[7], 18)
		x[11] ^= bits.RotateLeft32(x[10]+x[9], 7)
		x[8] ^= bits.RotateLeft32(x[11]+x[10], 9)
		x[9] ^= bits.RotateLeft32(x[8]+x[11], 13)
		x[10] ^= bits.RotateLeft32(x[9]+x[8], 18)
		x[12] ^= bits.RotateLeft32(x[15]+x[14], 7)
		x[13] ^= bits.RotateLeft32(x[12]+x[15], 9)
		x[14] ^= bits.RotateLeft32(x[13]+x[12], 13)
		x[15] ^= bits.RotateLeft32(x[14]+x[13], 18)
	}
	for i := range 16 {
		b[i] += x[i*5%16]
	}
}

func xorWords(dst, src []uint32) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// blockMixSalsa8 is scrypt's BlockMix over 2r blocks of b, with y as scratch.
func blockMixSalsa8(b, y []uint32, r int) {
	var x [ysBlock]uint32
	copy(x[:], b[(2*r-1)*ysBlock:])
	for i := range 2 * r {
		xorWords(x[:], b[i*ysBlock:(i+1)*ysBlock])
		salsa20(x[:], 8)
		copy(y[i*ysBlock:], x[:])
	}
	for i := range r {
		copy(b[i*ysBlock:], y[2*i*ysBlock:(2*i+1)*ysBlock])
		copy(b[(i+r)*ysBlock:], y[(2*i+1)*ysBlock:(2*i+2)*ysBlock])
	}
}

// blockMixPwxform is yescrypt's BlockMix: pwxform chained over the 2r 64-byte blocks, then
// Salsa20/2 over the last one.
func (c *pwxCtx) blockMix(b []uint32, r int) {
	var x [ysBlock]uint32
	r1 := 2 * r
	copy(x[:], b[(r1-1)*ysBlock:])
	for i := range r1 {
		if r1 > 1 {
			xorWords(x[:], b[i*ysBlock:(i+1)*ysBlock])
		}
		c.pwxform(x[:])
		copy(b[i*ysBlock:], x[:])
	}
	salsa20(b[(r1-1)*ysBlock:r1*ysBlock], 2)
}

// integerify reads the 64-bit number scrypt takes from the last block (words 0 and 1 in
// natural order: 0 and 13 shuffled).
func integerify(x []uint32, r int) uint64 {
	last := x[(2*r-1)*ysBlock:]
	return uint64(last[13])<<32 | uint64(last[0])
}

func p2floor(x uint64) uint64 { return 1 << (bits.Len64(x) - 1) }

func wrap(x, i uint64) uint64 {
	n := p2floor(i)
	return x&(n-1) + (i - n)
}

// shuffle copies natural-order blocks from src into x in shuffled order, and unshuffle back.
func shuffle(x, src []uint32) {
	for k := 0; k < len(x); k += ysBlock {
		for i := range ysBlock {
			x[k+i] = src[k+i*5%16]
		}
	}
}

func unshuffle(dst, x []uint32) {
	for k := 0; k < len(x); k += ysBlock {
		for i := range ysBlock {
			dst[k+i*5%16] = x[k+i]
		}
	}
}

// smix1 fills v with n blocks from b (natural order), scrypt's first loop; with rw, each
// block after the second also mixes in an earlier one. ctx nil means scrypt's Salsa20/8.
func smix1(b []uint32, r int, n uint64, rw bool, v, xy []uint32, ctx *pwxCtx) {
	s := 32 * r
	x, y := xy[:s], xy[s:2*s]
	shuffle(x, b[:s])
	for i := range n {
		copy(v[int(i)*s:], x)
		if rw && i > 1 {
			j := int(wrap(integerify(x, r), i))
			xorWords(x, v[j*s:(j+1)*s])
		}
		if ctx != nil {
			ctx.blockMix(x, r)
		} else {
			blockMixSalsa8(x, y, r)
		}
	}
	unshuffle(b[:s], x)
}

// smix2 is scrypt's second loop, nloop times over the n blocks of v; with rw it writes each
// block it reads back.
func smix2(b []uint32, r int, n, nloop uint64, rw bool, v, xy []uint32, ctx *pwxCtx) {
	if nloop == 0 {
		return
	}
	s := 32 * r
	x, y := xy[:s], xy[s:2*s]
	shuffle(x, b[:s])
	for range nloop {
		j := int(integerify(x, r) & (n - 1))
		vj := v[j*s : (j+1)*s]
		xorWords(x, vj)
		if rw {
			copy(vj, x)
		}
		if ctx != nil {
			ctx.blockMix(x, r)
		} else {
			blockMixSalsa8(x, y, r)
		}
	}
	unshuffle(b[:s], x)
}

// smix runs yescrypt's SMix over the p blocks of b (YESCRYPT_RW): each thread's S-boxes come
// from a Salsa20/8 SMix of its block, the first thread's also rekeys passwd, then each thread
// fills and rewrites its share of v, and a last read-only loop runs over all of v.
func smix(b []uint32, r int, n uint64, p, t uint32, v []uint32, passwd *[32]byte) {
	s := 32 * r
	nchunk := n / uint64(p)
	nloopAll := nchunk
	if t <= 1 {
		if t == 1 {
			nloopAll *= 2
		}
		nloopAll = (nloopAll + 2) / 3
	} else {
		nloopAll *= uint64(t) - 1
	}
	nloopRW := nloopAll / uint64(p)
	nchunk &^= 1
	nloopAll = (nloopAll + 1) &^ 1
	nloopRW = (nloopRW + 1) &^ 1

	xy := make([]uint32, 2*s)
	sbox := make([]uint32, pwxSWords)
	ctxs := make([]*pwxCtx, p)
	for i, vchunk := uint64(0), uint64(0); i < uint64(p); i, vchunk = i+1, vchunk+nchunk {
		np := nchunk
		if i == uint64(p)-1 {
			np = n - vchunk
		}
		bp := b[int(i)*s : int(i+1)*s]
		vp := v[int(vchunk)*s:]
		smix1(bp, 1, pwxSBytes/128, false, sbox, xy, nil)
		ctxs[i] = newPwxCtx(sbox) // S2 is the first third, S1 the second, S0 the last
		if i == 0 {
			key := wordsBytes(bp[s-ysBlock:])
			mac := hmac.New(sha256.New, key)
			mac.Write(passwd[:])
			mac.Sum(passwd[:0])
		}
		smix1(bp, r, np, true, vp, xy, ctxs[i])
		smix2(bp, r, p2floor(np), nloopRW, true, vp, xy, ctxs[i])
	}
	for i := range int(p) {
		smix2(b[i*s:(i+1)*s], r, n, nloopAll-nloopRW, false, v, xy, ctxs[i])
	}
}

func wordsBytes(w []uint32) []byte {
	out := make([]byte, 4*len(w))
	for i, x := range w {
		binary.LittleEndian.PutUint32(out[4*i:], x)
	}
	return out
}

func hmacSHA256(key, msg []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(msg)
	return mac.Sum(nil)
}

func pbkdf2SHA256(password, salt []byte, n int) []byte {
	key, err := pbkdf2.Key(sha256.New, string(password), salt, 1, n)
	if err != nil {
		panic("passhash: pbkdf2: " + err.Error()) // only for lengths far beyond these
	}
	return key
}

// yescryptBody is yescrypt_kdf_body for YESCRYPT_RW flags, giving 32 bytes.
func yescryptBody(passwd, salt []byte, flags uint32, n uint64, r int, p, t uint32) []byte {
	label := "yescrypt"
	if flags&yescryptPrehash != 0 {
		label = "yescrypt-prehash"
	}
	var key [32]byte
	copy(key[:], hmacSHA256([]byte(label), passwd))
	bb := pbkdf2SHA256(key[:], salt, 128*r*int(p))
	copy(key[:], bb[:32])
	b := make([]uint32, len(bb)/4)
	for i := range b {
		b[i] = binary.LittleEndian.Uint32(bb[4*i:])
	}
	v := make([]uint32, int(n)*32*r)
	smix(b, r, n, p, t, v, &key)
	dk := pbkdf2SHA256(key[:], wordsBytes(b), 32)
	if flags&yescryptPrehash != 0 {
		return dk
	}
	stored := sha256.Sum256(hmacSHA256(dk, []byte("Client Key")))
	return stored[:]
}

// yescryptKey is yescrypt_kdf with libxcrypt's flags: a pre-hash at N/64 for large costs,
// then the body.
func yescryptKey(passwd, salt []byte, n uint64, r int, p, t uint32) []byte {
	if n/uint64(p) >= 0x100 && n/uint64(p)*uint64(r) >= 0x20000 {
		passwd = yescryptBody(passwd, salt, yescryptDefaults|yescryptPrehash, n>>6, r, p, 0)
	}
	return yescryptBody(passwd, salt, yescryptDefaults, n, r, p, t)
}
