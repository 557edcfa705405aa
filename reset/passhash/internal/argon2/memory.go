package argon2

import (
	"sync"
	"time"
)

// memory holds the block buffers between hashes.
var memory = pool{keep: 4, idle: 30 * time.Second}

// buffer is one hash's blocks. raw is the mapping behind them, nil when they are on the Go
// heap.
type buffer struct {
	blocks []block
	raw    []byte
}

// pool lends block buffers to hashes and takes them back. It keeps up to keep of them, enough
// for the hashes that run side by side (resetgate runs one per hash slot), and releases all of
// them once none has been lent for idle: a burst of resets reuses the same memory, and a
// process at rest holds none.
type pool struct {
	keep int
	idle time.Duration

	mu    sync.Mutex
	free  []*buffer
	timer *time.Timer
}

// get returns a buffer of n blocks. Their contents are whatever the last hash left: Argon2
// writes every block before it reads it.
func (p *pool) get(n int) *buffer {
	p.mu.Lock()
	best := -1
	for i, b := range p.free {
		if cap(b.blocks) >= n && (best < 0 || cap(b.blocks) < cap(p.free[best].blocks)) {
			best = i
		}
	}
	if best >= 0 {
		b := p.free[best]
		p.free = append(p.free[:best], p.free[best+1:]...)
		p.mu.Unlock()
		b.blocks = b.blocks[:n]
		return b
	}
	p.mu.Unlock()
	return allocate(n)
}

// put takes b back, or releases it when the pool already keeps enough.
func (p *pool) put(b *buffer) {
	p.mu.Lock()
	if len(p.free) >= p.keep {
		p.mu.Unlock()
		b.release()
		return
	}
	p.free = append(p.free, b)
	if p.timer == nil {
		p.timer = time.AfterFunc(p.idle, p.drain)
	} else {
		p.timer.Reset(p.idle)
	}
	p.mu.Unlock()
}

// drain releases every buffer the pool keeps.
func (p *pool) drain() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.mu.Unlock()
	for _, b := range free {
		b.release()
	}
}
