package resettest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"resetgate/reset"
)

// The mail queue of [MemStore].

// Enqueue stores j unless a job with its id is stored already.
func (s *MemStore) Enqueue(ctx context.Context, j reset.Job) error {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return err
	}
	if j.ID == "" {
		return errors.New("resettest: enqueue: job has no id")
	}
	if _, ok := s.jobs[j.ID]; !ok {
		s.jobs[j.ID] = j
	}
	return nil
}

// NextJob leases the oldest due job until `until`.
func (s *MemStore) NextJob(ctx context.Context, now, until time.Time) (reset.Job, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return reset.Job{}, err
	}
	best := ""
	for id, j := range s.jobs {
		if j.Dead || now.Before(j.NotBefore) || now.Before(j.LeasedUntil) {
			continue
		}
		if best == "" || id < best {
			best = id
		}
	}
	if best == "" {
		return reset.Job{}, reset.ErrNoJob
	}
	j := s.jobs[best]
	j.LeasedUntil, j.LeasedBy = until, nonce()
	s.jobs[best] = j
	return j, nil
}

// fenced returns the stored job j.ID if j's lease still holds it.
func (s *MemStore) fenced(j reset.Job) error {
	stored, ok := s.jobs[j.ID]
	switch {
	case !ok:
		return reset.ErrJobNotFound
	case stored.LeasedBy != j.LeasedBy:
		return reset.ErrLeaseLost
	}
	return nil
}

// AckJob deletes the job if j's lease still holds it.
func (s *MemStore) AckJob(ctx context.Context, j reset.Job) error {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return err
	}
	if err := s.fenced(j); err != nil {
		return err
	}
	delete(s.jobs, j.ID)
	return nil
}

// RetryJob replaces the stored job with j and clears its lease, if j's lease still holds it.
func (s *MemStore) RetryJob(ctx context.Context, j reset.Job) error {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return err
	}
	if err := s.fenced(j); err != nil {
		return err
	}
	j.LeasedUntil, j.LeasedBy = time.Time{}, ""
	s.jobs[j.ID] = j
	return nil
}

// Stats counts the jobs at now.
func (s *MemStore) Stats(ctx context.Context, now time.Time) (reset.QueueStats, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return reset.QueueStats{}, err
	}
	var q reset.QueueStats
	for _, j := range s.jobs {
		switch {
		case j.Dead:
			q.Dead++
		case now.Before(j.LeasedUntil):
			q.Leased++
		case now.Before(j.NotBefore):
			q.Delayed++
		default:
			q.Due++
		}
	}
	return q, nil
}

// DeleteDead deletes the jobs given up on before `before`.
func (s *MemStore) DeleteDead(ctx context.Context, before time.Time) (int, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	n := 0
	for id, j := range s.jobs {
		if j.Dead && j.DeadAt.Before(before) {
			delete(s.jobs, id)
			n++
		}
	}
	return n, nil
}

// Jobs lists every job, oldest first.
func (s *MemStore) Jobs(ctx context.Context) ([]reset.Job, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	js := make([]reset.Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		js = append(js, j)
	}
	slices.SortFunc(js, func(a, b reset.Job) int { return strings.Compare(a.ID, b.ID) })
	return js, nil
}

// DropJob deletes the job, or returns ErrJobNotFound.
func (s *MemStore) DropJob(ctx context.Context, id string) error {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return err
	}
	if _, ok := s.jobs[id]; !ok {
		return reset.ErrJobNotFound
	}
	delete(s.jobs, id)
	return nil
}
