package resettest

import (
	"context"

	"resetgate/reset"
)

// TokenByCode returns the token whose CodeID is codeID, or ErrTokenNotFound.
func (s *MemStore) TokenByCode(ctx context.Context, codeID string) (reset.Token, error) {
	defer s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return reset.Token{}, err
	}
	for _, t := range s.tokens {
		if codeID != "" && t.CodeID == codeID {
			return t, nil
		}
	}
	return reset.Token{}, reset.ErrTokenNotFound
}
