package argon2

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	xargon2 "golang.org/x/crypto/argon2"
)

// The test vectors of RFC 9106, section 5: 32 bytes of 0x01 as the password, 16 of 0x02 as the
// salt, 8 of 0x03 as the secret and 12 of 0x04 as associated data; m=32 KiB, t=3, p=4.
func TestRFC9106Vectors(t *testing.T) {
	for _, tc := range []struct {
		variant Variant
		tag     string
	}{
		{Argon2i, "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8"},
		{Argon2id, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"},
	} {
		got := Key(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16), Params{
			Variant: tc.variant, Time: 3, Memory: 32, Threads: 4, KeyLen: 32,
			Secret: bytes.Repeat([]byte{3}, 8), Data: bytes.Repeat([]byte{4}, 12),
		})
		if hex.EncodeToString(got) != tc.tag {
			t.Errorf("variant %d: tag %x, want %s", tc.variant, got, tc.tag)
		}
	}
}

// Against golang.org/x/crypto/argon2 over parameters that exercise each branch: one and
// several lanes, memory that is not a multiple of 4p, one pass and several, tags shorter and
// longer than 64 bytes, and more than 128 blocks per segment (a second address block).
func TestMatchesXCrypto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []Params{
		{Time: 1, Memory: 8, Threads: 1, KeyLen: 32},
		{Time: 1, Memory: 64, Threads: 1, KeyLen: 4},
		{Time: 2, Memory: 1024, Threads: 1, KeyLen: 32},
		{Time: 3, Memory: 4099, Threads: 3, KeyLen: 65},
		{Time: 1, Memory: 2048, Threads: 8, KeyLen: 100},
		{Time: 4, Memory: 97, Threads: 2, KeyLen: 16},
		{Time: 2, Memory: 19456, Threads: 1, KeyLen: 32},
	}
	for range 20 {
		threads := uint8(1 + rng.IntN(6))
		cases = append(cases, Params{
			Time: 1 + rng.Uint32N(4), Threads: threads,
			Memory: 8*uint32(threads) + rng.Uint32N(3000), KeyLen: 4 + rng.Uint32N(120),
		})
	}
	for _, p := range cases {
		password := make([]byte, rng.IntN(40))
		salt := make([]byte, 8+rng.IntN(24))
		for i := range password {
			password[i] = byte(rng.Uint32())
		}
		for i := range salt {
			salt[i] = byte(rng.Uint32())
		}
		for _, v := range []Variant{Argon2id, Argon2i} {
			p.Variant = v
			want := xargon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			if v == Argon2i {
				want = xargon2.Key(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			}
			if got := Key(password, salt, p); !bytes.Equal(got, want) {
				t.Errorf("variant %d t=%d m=%d p=%d len=%d: %x, x/crypto %x", v, p.Time, p.Memory, p.Threads, p.KeyLen, got, want)
			}
		}
	}
}

// A buffer a hash left behind, full of its blocks, must not change the next hash's result,
// smaller or the same size; and concurrent hashes must not share one.
func TestReusedMemory(t *testing.T) {
	p := Params{Variant: Argon2id, Time: 2, Memory: 2048, Threads: 2, KeyLen: 32}
	want := xargon2.IDKey([]byte("correct horse"), []byte("saltsaltsalt"), p.Time, p.Memory, p.Threads, p.KeyLen)
	Key([]byte("other"), []byte("othersalt"), Params{Variant: Argon2i, Time: 1, Memory: 4096, Threads: 1, KeyLen: 32})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			for range 4 {
				if got := Key([]byte("correct horse"), []byte("saltsaltsalt"), p); !bytes.Equal(got, want) {
					errs <- fmt.Sprintf("%x, want %x", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestPoolKeepsAFewAndLetsGo(t *testing.T) {
	p := pool{keep: 2, idle: 20 * time.Millisecond}
	bufs := []*buffer{p.get(16), p.get(16), p.get(8)}
	for _, b := range bufs {
		if len(b.blocks) == 0 {
			t.Fatal("empty buffer")
		}
		b.blocks[len(b.blocks)-1][0] = 1 // the memory is writable
		p.put(b)
	}
	if n, bytes := p.kept(); n != 2 || bytes != 32*1024 {
		t.Errorf("kept %d buffers, %d bytes; want the first 2, 32 KiB", n, bytes)
	}
	if b := p.get(8); len(b.blocks) != 8 || cap(b.blocks) != 16 {
		t.Errorf("get(8) = %d blocks of %d, want a kept 16-block buffer cut to 8", len(b.blocks), cap(b.blocks))
	} else {
		p.put(b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _ := p.kept(); n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pool still keeps buffers long after its idle time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBadParamsPanic(t *testing.T) {
	for _, p := range []Params{
		{Variant: Argon2id, Time: 0, Memory: 64, Threads: 1, KeyLen: 32},
		{Variant: Argon2id, Time: 1, Memory: 7, Threads: 1, KeyLen: 32},
		{Variant: Argon2id, Time: 1, Memory: 64, Threads: 0, KeyLen: 32},
		{Variant: Argon2id, Time: 1, Memory: 64, Threads: 1, KeyLen: 3},
		{Variant: 0, Time: 1, Memory: 64, Threads: 1, KeyLen: 32},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Key(%+v) did not panic", p)
				}
			}()
			Key([]byte("pw"), []byte("saltsalt"), p)
		}()
	}
}

// OWASP's m=19456 t=2 p=1, the argon2id resetgate writes by default: this package against
// x/crypto, whose allocation of m KiB per hash is what this package avoids.
func BenchmarkKey(b *testing.B) {
	p := Params{Variant: Argon2id, Time: 2, Memory: 19456, Threads: 1, KeyLen: 32}
	password, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	b.Run("resetgate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Key(password, salt, p)
		}
	})
	b.Run("x-crypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			xargon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
}

// kept is how many buffers, and how many bytes of blocks, the pool holds.
func (p *pool) kept() (buffers int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.free {
		bytes += int64(cap(b.blocks)) * 1024
	}
	return len(p.free), bytes
}
