package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

type window struct {
	end   int64 // Unix ns
	count uint64
}

func decodeWindow(k, v []byte) (window, error) {
	if len(v) != 16 {
		return window{}, fmt.Errorf("%w: rate limit %q: %d bytes, want 16", ErrCorrupt, k, len(v))
	}
	return window{end: int64(binary.BigEndian.Uint64(v)), count: binary.BigEndian.Uint64(v[8:])}, nil
}

func (w window) encode() []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(w.end))
	return binary.BigEndian.AppendUint64(v, w.count)
}

// Allow counts one event against key and reports whether at most n happened in the current
// window. A window starts with the first event after the previous one ended and lasts `win`.
// A refused event is not counted, and writes nothing unless it starts a window. Concurrent
// calls share commits.
func (s *Store) Allow(ctx context.Context, key string, n int, win time.Duration, now time.Time) (bool, time.Duration, error) {
	if win <= 0 {
		return false, 0, fmt.Errorf("bolt: allow %q: window %v is not positive", key, win)
	}
	var ok bool
	var retry time.Duration
	// The committer may run this more than once; it sets ok and retry from scratch each time.
	err := s.write(ctx, "allow", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLimits)
		k := []byte(key)
		at := unixNano(now)
		w, fresh := window{end: at + int64(win)}, true
		if v := b.Get(k); v != nil {
			stored, err := decodeWindow(k, v)
			if err != nil {
				return err
			}
			if at < stored.end {
				w, fresh = stored, false
			}
		}
		ok = n > 0 && w.count < uint64(n)
		retry = 0
		if ok {
			w.count++
		} else {
			retry = time.Duration(w.end - at)
			if !fresh {
				return nil
			}
		}
		return b.Put(k, w.encode())
	})
	if err != nil {
		return false, 0, err
	}
	return ok, retry, nil
}

// Peek reports whether Allow would admit one more event for key at now, writing nothing.
func (s *Store) Peek(ctx context.Context, key string, n int, now time.Time) (bool, time.Duration, error) {
	var ok bool
	var retry time.Duration
	err := s.view(ctx, "peek", func(tx *bbolt.Tx) error {
		k := []byte(key)
		ok, retry = true, 0
		v := tx.Bucket(bucketLimits).Get(k)
		if v == nil {
			return nil
		}
		w, err := decodeWindow(k, v)
		if err != nil {
			return err
		}
		if at := unixNano(now); at < w.end && w.count >= uint64(max(n, 0)) {
			ok, retry = false, time.Duration(w.end-at)
		}
		return nil
	})
	if err != nil {
		return false, 0, err
	}
	return ok, retry, nil
}
