package redis

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"resetgate/reset"
)

// TokenByCode returns the token whose CodeID is codeID, or an error wrapping
// ErrTokenNotFound. The code key (CodeID → token id) is written and deleted by the same
// scripts as its token and expires with it.
func (s *Store) TokenByCode(ctx context.Context, codeID string) (reset.Token, error) {
	const what = "read token by code"
	if err := ctx.Err(); err != nil {
		return reset.Token{}, fmt.Errorf("redis: %s: %w", what, err)
	}
	if codeID == "" {
		return reset.Token{}, fmt.Errorf("redis: %s: %w", what, reset.ErrTokenNotFound)
	}
	id, err := s.c.Get(ctx, s.codeKey(codeID)).Result()
	if errors.Is(err, goredis.Nil) {
		return reset.Token{}, fmt.Errorf("redis: %s: %w", what, reset.ErrTokenNotFound)
	}
	if err != nil {
		return reset.Token{}, fmt.Errorf("redis: %s: %w", what, err)
	}
	t, err := s.Token(ctx, id)
	if err == nil && t.CodeID != codeID {
		err = fmt.Errorf("redis: %s: %w", what, reset.ErrTokenNotFound)
	}
	return t, err
}
