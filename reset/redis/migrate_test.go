package redis_test

import (
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"resetgate/internal/testenv"
	"resetgate/reset"
)

// A key space of the first release kept dead jobs only in queue:all; Open files them under
// queue:dead, dated at the upgrade, so that Stats counts them and DeleteDead sweeps them.
func TestOpenMigratesFirstLayout(t *testing.T) {
	addr := testenv.Redis(t)
	prefix := newPrefix(t, addr)
	c := rawClient(t, addr)
	ctx, at := t.Context(), now()
	created := strconv.FormatInt(at.UnixMilli(), 10)
	for id, fields := range map[string][]any{
		"0000000000000001": {"kind", "reset", "email", "dead@example.com", "created", created, "attempts", "9", "err", "550", "dead", "1"},
		"0000000000000002": {"kind", "reset", "email", "due@example.com", "created", created},
	} {
		if err := c.HSet(ctx, prefix+"job:"+id, fields...).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.ZAdd(ctx, prefix+"queue:all", goredis.Z{Member: id}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ZAdd(ctx, prefix+"queue:ready", goredis.Z{Member: "0000000000000002"}).Err(); err != nil {
		t.Fatal(err)
	}

	s := mustOpen(t, addr, prefix)
	if st, err := s.Stats(ctx, at); err != nil || st != (reset.QueueStats{Due: 1, Dead: 1}) {
		t.Errorf("Stats() after Open = %+v, %v, want one due and one dead", st, err)
	}
	if got := c.Get(ctx, prefix+"format").Val(); got != "2" {
		t.Errorf("format key = %q, want %q", got, "2")
	}
	if n, err := s.DeleteDead(ctx, at.Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("DeleteDead(before the upgrade) = %d, %v, want 0, nil", n, err)
	}
	if n, err := s.DeleteDead(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("DeleteDead(after the upgrade) = %d, %v, want 1, nil", n, err)
	}
	if js, err := s.Jobs(ctx); err != nil || len(js) != 1 || js[0].Email != "due@example.com" {
		t.Errorf("Jobs() = %+v, %v, want the live job only", js, err)
	}
	// A second Open finds the layout current and changes nothing.
	again := mustOpen(t, addr, prefix)
	if st, err := again.Stats(ctx, at); err != nil || st != (reset.QueueStats{Due: 1}) {
		t.Errorf("Stats() after a second Open = %+v, %v, want one due", st, err)
	}
}
