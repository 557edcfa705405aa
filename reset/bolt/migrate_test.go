package bolt_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

// v1Job is a job record as the first release wrote it: format byte 1, the due time in Unix
// ns (never for a dead job), then JSON.
func v1Job(t *testing.T, fields map[string]any, due int64) []byte {
	t.Helper()
	body, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	v := binary.BigEndian.AppendUint64([]byte{1}, uint64(due))
	return append(v, body...)
}

// mustWriteV1 builds, with bbolt alone, a data file as the first release left it: format 1,
// the jobs bucket without any index, dead jobs among the live ones.
func mustWriteV1(t *testing.T, path string, now time.Time, tokenID string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("bbolt.Open(%q) = %v", path, err)
	}
	defer db.Close()
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	err = db.Update(func(tx *bbolt.Tx) error {
		buckets := map[string]*bbolt.Bucket{}
		for _, name := range []string{"meta", "tokens", "user-tokens", "limits", "jobs", "secrets"} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			buckets[name] = b
		}
		puts := []struct {
			bucket, key string
			value       []byte
		}{
			{"meta", "format", []byte("1")},
			{"tokens", tokenID, []byte(`{"user":"7","email":"ann@example.com","fp":"fp7","issued":"` + ts(now) +
				`","expires":"` + ts(now.Add(time.Hour)) + `","claimed":"` + ts(now.Add(-time.Minute)) + `"}`)},
			{"user-tokens", "\x017" + tokenID, nil},
			{"jobs", "0000000000000001", v1Job(t, map[string]any{"kind": "reset", "email": "due@example.com", "created": ts(now)}, math.MinInt64)},
			{"jobs", "0000000000000002", v1Job(t, map[string]any{"kind": "reset", "email": "dead@example.com", "created": ts(now),
				"attempts": 9, "error": "550", "dead": true}, math.MaxInt64)},
			{"jobs", "0000000000000003", v1Job(t, map[string]any{"kind": "notice", "user": "7", "created": ts(now),
				"attempts": 1, "not_before": ts(now.Add(time.Hour))}, now.Add(time.Hour).UnixNano())},
			{"jobs", "0000000000000004", v1Job(t, map[string]any{"kind": "reset", "email": "leased@example.com", "created": ts(now),
				"leased_until": ts(now.Add(time.Minute))}, now.Add(time.Minute).UnixNano())},
		}
		for _, p := range puts {
			if err := buckets[p.bucket].Put([]byte(p.key), p.value); err != nil {
				return err
			}
		}
		return buckets["jobs"].SetSequence(4)
	})
	if err != nil {
		t.Fatalf("write a format 1 file: %v", err)
	}
}

func TestOpenMigratesFirstFormat(t *testing.T) {
	path := tempPath(t)
	now := time.Now().Truncate(time.Millisecond)
	_, tokenID := reset.NewToken()
	mustWriteV1(t, path, now, tokenID)

	s := mustOpen(t, path)
	js, err := s.Jobs(t.Context())
	if err != nil || len(js) != 4 {
		t.Fatalf("Jobs() after migration = %+v, %v, want the 4 jobs", js, err)
	}
	dead := js[1]
	if !dead.Dead || dead.Attempts != 9 || dead.LastError != "550" || dead.DeadAt.IsZero() {
		t.Errorf("migrated dead job = %+v, want dead, 9 attempts, error 550, dated", dead)
	}
	if js[2].Kind != reset.JobNotice || js[2].UserID != "7" || !js[2].NotBefore.Equal(now.Add(time.Hour)) {
		t.Errorf("migrated delayed job = %+v, want the notice for 7 due at %v", js[2], now.Add(time.Hour))
	}
	if st, err := s.Stats(t.Context(), now); err != nil || st != (reset.QueueStats{Due: 1, Delayed: 1, Leased: 1, Dead: 1}) {
		t.Errorf("Stats() after migration = %+v, %v, want one job in each state", st, err)
	}
	// The index works: the due job first, the lapsed lease next, the dead one never.
	j, err := s.NextJob(t.Context(), now, now.Add(2*time.Hour))
	if err != nil || j.ID != "0000000000000001" {
		t.Fatalf("NextJob() = %+v, %v, want job 1", j, err)
	}
	if _, err := s.NextJob(t.Context(), now, now.Add(time.Minute)); !errors.Is(err, reset.ErrNoJob) {
		t.Errorf("second NextJob() = %v, want %v", err, reset.ErrNoJob)
	}
	later := now.Add(time.Minute)
	if j, err := s.NextJob(t.Context(), later, later.Add(time.Minute)); err != nil || j.ID != "0000000000000004" {
		t.Errorf("NextJob() after the old lease = %+v, %v, want job 4", j, err)
	}
	// New ids sort after the old sequence numbers.
	if err := s.Enqueue(t.Context(), reset.Job{ID: resettest.NewJobID(now), Kind: reset.JobReset, CreatedAt: now}); err != nil {
		t.Fatalf("Enqueue() = %v, want nil", err)
	}
	if js, _ := s.Jobs(t.Context()); len(js) != 5 || js[4].CreatedAt.IsZero() {
		t.Errorf("Jobs() = %+v, want the new job last", js)
	}
	// Dead jobs are dated at the upgrade, so the retention starts then.
	if n, err := s.DeleteDead(t.Context(), now.Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("DeleteDead(an hour before the upgrade) = %d, %v, want 0, nil", n, err)
	}
	if n, err := s.DeleteDead(t.Context(), time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("DeleteDead(after the upgrade) = %d, %v, want 1, nil", n, err)
	}
	// The token reads back; its old claim, without an owner, lapsed and can be taken.
	tok, err := s.Token(t.Context(), tokenID)
	if err != nil || tok.UserID != "7" || tok.ClaimedBy != "" {
		t.Fatalf("Token() after migration = %+v, %v, want user 7's", tok, err)
	}
	if c, err := s.ClaimToken(t.Context(), tokenID, now, now.Add(time.Minute)); err != nil || c.ClaimedBy == "" {
		t.Errorf("ClaimToken() after migration = %+v, %v, want a claim with an owner", c, err)
	}
	if n, err := s.DeleteUserTokens(t.Context(), "7"); err != nil || n != 1 {
		t.Errorf("DeleteUserTokens(7) = %d, %v, want 1, nil (the index was kept)", n, err)
	}
}

func TestMigratedFileReopens(t *testing.T) {
	path := tempPath(t)
	now := time.Now()
	_, tokenID := reset.NewToken()
	mustWriteV1(t, path, now, tokenID)
	s := mustOpen(t, path)
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if got := rawGet(t, path, "meta", "format"); got != "2" {
		t.Errorf("format after migration = %q, want %q", got, "2")
	}
	s = mustOpen(t, path)
	if st, err := s.Stats(t.Context(), now); err != nil || st != (reset.QueueStats{Due: 1, Delayed: 1, Leased: 1, Dead: 1}) {
		t.Errorf("Stats() after reopening a migrated file = %+v, %v, want one job in each state", st, err)
	}
}

// rawGet reads a record behind the store's back.
func rawGet(t *testing.T, path, bucket, key string) string {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("bbolt.Open(%q) = %v", path, err)
	}
	defer db.Close()
	var v string
	db.View(func(tx *bbolt.Tx) error {
		v = string(tx.Bucket([]byte(bucket)).Get([]byte(key)))
		return nil
	})
	return v
}
