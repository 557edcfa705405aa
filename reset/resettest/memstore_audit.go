package resettest

import (
	"context"
	"sort"
	"time"

	"resetgate/reset"
)

// AppendAudit stores e and drops the oldest events beyond keep.
func (m *MemStore) AppendAudit(ctx context.Context, e reset.AuditEvent, keep int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	m.audit = append(m.audit, e)
	if keep > 0 && len(m.audit) > keep {
		m.audit = append([]reset.AuditEvent(nil), m.audit[len(m.audit)-keep:]...)
	}
	return nil
}

// AuditSince returns the events at or after since, oldest first.
func (m *MemStore) AuditSince(ctx context.Context, since time.Time) ([]reset.AuditEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed
	}
	var out []reset.AuditEvent
	for _, e := range m.audit {
		if !e.Time.Before(since) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// DeleteAuditBefore deletes the events older than before.
func (m *MemStore) DeleteAuditBefore(ctx context.Context, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errClosed
	}
	kept := m.audit[:0]
	for _, e := range m.audit {
		if !e.Time.Before(before) {
			kept = append(kept, e)
		}
	}
	n := len(m.audit) - len(kept)
	m.audit = kept
	return n, nil
}
