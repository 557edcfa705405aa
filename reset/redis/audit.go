package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"resetgate/reset"
)

// The audit trail is one stream, {prefix}audit, each entry one event as JSON in the field
// "e". XADD trims it to the cap in the same command, so it never outgrows it. A command that
// go-redis resends after a lost reply may store an event twice: the trail is for people, and a
// duplicate line misleads no one.

func (s *Store) auditKey() string { return s.prefix + "audit" }

// AppendAudit stores e and drops the oldest events beyond keep.
func (s *Store) AppendAudit(ctx context.Context, e reset.AuditEvent, keep int) error {
	v, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("redis: append audit: %w", err)
	}
	args := &goredis.XAddArgs{Stream: s.auditKey(), Values: []any{"e", v}}
	if keep > 0 {
		args.MaxLen = int64(keep)
	}
	if err := s.c.XAdd(ctx, args).Err(); err != nil {
		return fmt.Errorf("redis: append audit: %w", err)
	}
	return nil
}

// auditEntries reads the whole stream: it holds at most the cap of events, and only
// operators read it.
func (s *Store) auditEntries(ctx context.Context, what string) ([]string, []reset.AuditEvent, error) {
	msgs, err := s.c.XRange(ctx, s.auditKey(), "-", "+").Result()
	if err != nil {
		return nil, nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	ids := make([]string, 0, len(msgs))
	events := make([]reset.AuditEvent, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values["e"].(string)
		var e reset.AuditEvent
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, nil, fmt.Errorf("redis: %s: entry %s: %w", what, m.ID, err)
		}
		ids = append(ids, m.ID)
		events = append(events, e)
	}
	return ids, events, nil
}

// AuditSince returns the events at or after since, oldest first. Entries are kept in the
// order Redis received them; events from several replicas are sorted by their own time.
func (s *Store) AuditSince(ctx context.Context, since time.Time) ([]reset.AuditEvent, error) {
	_, events, err := s.auditEntries(ctx, "read audit")
	if err != nil {
		return nil, err
	}
	var out []reset.AuditEvent
	for _, e := range events {
		if !e.Time.Before(since) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// DeleteAuditBefore deletes the events older than before.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time) (int, error) {
	ids, events, err := s.auditEntries(ctx, "sweep audit")
	if err != nil {
		return 0, err
	}
	var old []string
	for i, e := range events {
		if e.Time.Before(before) {
			old = append(old, ids[i])
		}
	}
	if len(old) == 0 {
		return 0, nil
	}
	n, err := s.c.XDel(ctx, s.auditKey(), old...).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: sweep audit: %w", err)
	}
	return int(n), nil
}
