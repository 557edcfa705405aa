package reset

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PasswordRules describes how a password for the user of p will be judged, for the form.
type PasswordRules struct {
	Min, Max int // characters
	MaxBytes int // 0: no byte limit (72 for bcrypt)
}

// ByteLimited reports whether the byte limit can bite before the character limit does (bcrypt's
// 72 bytes against 128 characters of up to 4 bytes each), so that users need to hear of it.
func (r PasswordRules) ByteLimited() bool { return r.MaxBytes > 0 && r.MaxBytes < 4*r.Max }

// Rules returns the password rules for a pending reset.
func (s *Service) Rules(p Pending) PasswordRules {
	tun := s.tune()
	r := PasswordRules{Min: tun.MinPassword, Max: tun.MaxPassword}
	if h, err := s.hashers.For(p.User.ID, p.User.PasswordHash); err == nil {
		r.MaxBytes = h.MaxPasswordBytes()
	}
	return r
}

// CheckPassword returns every reason password (typed twice as password and again) is refused
// for u under the given limits, each a catalogue key; none if acceptable.
func (s *Service) CheckPassword(password, again string, u User, maxBytes int) []Problem {
	problems, _ := s.checkPassword(context.Background(), password, again, u, maxBytes)
	return problems
}

// checkPassword is CheckPassword, running the strength check under the hashing semaphore: on a
// long password zxcvbn costs as much CPU as a hash (tens of milliseconds).
func (s *Service) checkPassword(ctx context.Context, password, again string, u User, maxBytes int) ([]Problem, error) {
	tun := s.tune()
	var problems []Problem
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		problems = append(problems, Problem{Key: "password.not_text"})
	case strings.ContainsFunc(password, unicode.IsControl):
		// A NUL or other control character cannot be typed, and C-string verifiers (PHP's and
		// glibc's crypt()) stop at a NUL, so the app would check a different password.
		problems = append(problems, Problem{Key: "password.control"})
	case n < tun.MinPassword:
		problems = append(problems, Problem{Key: "password.too_short", Args: []any{"n", tun.MinPassword, "count", n}})
	case n > tun.MaxPassword:
		problems = append(problems, Problem{Key: "password.too_long", Args: []any{"n", tun.MaxPassword, "count", n}})
	case maxBytes > 0 && len(password) > maxBytes:
		// bcrypt reads only 72 bytes; cutting the rest silently would make a different
		// password work (SECURITY.md RQ-PWD-05).
		problems = append(problems, Problem{Key: "password.too_many_bytes", Args: []any{"n", maxBytes, "count", len(password)}})
	}
	if password != again {
		problems = append(problems, Problem{Key: "password.mismatch"})
	}
	if len(problems) == 0 && s.checker != nil {
		err := s.withSlot(ctx, func() { problems = append(problems, s.checker.Check(password, u)...) })
		if err != nil {
			return nil, err
		}
	}
	return problems, nil
}

// hash runs the hasher under the semaphore, so that a flood of submissions cannot take more
// CPUs (or, for argon2, more memory) than the machine has.
func (s *Service) hash(ctx context.Context, h Hasher, password string) (encoded string, err error) {
	var start time.Time
	if werr := s.withSlot(ctx, func() {
		start = time.Now()
		encoded, err = h.Hash(password)
	}); werr != nil {
		return "", werr
	}
	if s.o.ObserveHashing != nil {
		s.o.ObserveHashing(time.Since(start))
	}
	return encoded, err
}

// HashSlots reports how many of the HashSlots are held right now and how many there are.
func (s *Service) HashSlots() (busy, total int) { return len(s.hashSem), cap(s.hashSem) }

// withSlot runs f holding one of the HashSlots, or returns ctx's error if none frees up first.
func (s *Service) withSlot(ctx context.Context, f func()) error {
	s.waiting(ctx)
	select {
	case s.hashSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashSem }()
	if s.o.RunHash != nil {
		s.o.RunHash(f)
	} else {
		f()
	}
	return nil
}

// waiting tells Options.Waiting that the request is about to wait for something other than a
// CPU.
func (s *Service) waiting(ctx context.Context) {
	if s.o.Waiting != nil {
		s.o.Waiting(ctx)
	}
}
