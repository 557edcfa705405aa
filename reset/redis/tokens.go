package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"resetgate/reset"
)

func tokenFields(t reset.Token) []any {
	f := []any{"user", t.UserID, "email", t.Email, "fp", t.Fingerprint}
	f = putTime(f, "issued", t.IssuedAt)
	f = putTime(f, "expires", t.ExpiresAt)
	f = putTime(f, "claimed", t.ClaimedUntil)
	if t.ClaimedBy != "" {
		f = append(f, "owner", t.ClaimedBy)
	}
	if t.CodeID != "" {
		f = append(f, "code", t.CodeID)
	}
	return f
}

func decodeToken(key, id string, m map[string]string) (reset.Token, error) {
	r := record{key: key, m: m}
	t := reset.Token{
		ID: id, UserID: m["user"], Email: m["email"], Fingerprint: m["fp"],
		IssuedAt: r.time("issued"), ExpiresAt: r.time("expires"), ClaimedUntil: r.time("claimed"),
		ClaimedBy: m["owner"], CodeID: m["code"],
	}
	if _, ok := m["user"]; !ok {
		r.fail("user", "")
	}
	return t, r.err
}

// SaveToken stores t, to expire by Redis' clock at t.ExpiresAt, and deletes every other token
// of t.UserID, in one script.
func (s *Store) SaveToken(ctx context.Context, t reset.Token) error {
	args := append([]any{s.tokenKey(""), s.userKey(""), t.ID, t.UserID, ms(t.ExpiresAt), s.codeKey(""), t.CodeID}, tokenFields(t)...)
	_, err := s.run(ctx, "save token", saveTokenScript,
		[]string{s.tokenKey(t.ID), s.userKey(t.UserID), s.tokensKey()}, args...)
	return err
}

// Token returns the token with the given id, or an error wrapping ErrTokenNotFound. An
// expired token is returned until Redis evicts it, at its expiry by Redis' clock.
func (s *Store) Token(ctx context.Context, id string) (reset.Token, error) {
	if err := ctx.Err(); err != nil {
		return reset.Token{}, fmt.Errorf("redis: read token: %w", err)
	}
	key := s.tokenKey(id)
	m, err := s.c.HGetAll(ctx, key).Result()
	if err != nil {
		return reset.Token{}, fmt.Errorf("redis: read token: %w", err)
	}
	if len(m) == 0 {
		return reset.Token{}, fmt.Errorf("redis: read token: %w", reset.ErrTokenNotFound)
	}
	t, err := decodeToken(key, id, m)
	if err != nil {
		return reset.Token{}, fmt.Errorf("redis: read token: %w", err)
	}
	return t, nil
}

// ClaimToken marks the token claimed until `until` by a fresh owner if, at now, it exists, has
// not expired and is not claimed; check and set are one script, so of concurrent claims from
// any number of replicas exactly one wins (SECURITY.md RQ-TOK-03). The owner nonce is drawn
// here, before the call, so that a run resent by go-redis recognises its own claim.
func (s *Store) ClaimToken(ctx context.Context, id string, now, until time.Time) (reset.Token, error) {
	const what = "claim token"
	key := s.tokenKey(id)
	v, err := s.run(ctx, what, claimTokenScript, []string{key}, ms(now), ms(until), nonce())
	if err != nil {
		return reset.Token{}, err
	}
	reply, ok := v.([]any)
	if !ok || len(reply) == 0 {
		return reset.Token{}, fmt.Errorf("redis: %s: unexpected reply %v", what, v)
	}
	switch status, _ := reply[0].(int64); status {
	case claimOK:
	case claimNotFound:
		return reset.Token{}, fmt.Errorf("redis: %s: %w", what, reset.ErrTokenNotFound)
	case claimTaken:
		return reset.Token{}, fmt.Errorf("redis: %s: %w", what, reset.ErrTokenClaimed)
	default:
		return reset.Token{}, fmt.Errorf("redis: %s: unexpected reply %v", what, v)
	}
	m, err := fieldMap(key, reply[1:])
	if err == nil {
		var t reset.Token
		if t, err = decodeToken(key, id, m); err == nil {
			return t, nil
		}
	}
	return reset.Token{}, fmt.Errorf("redis: %s: %w", what, err)
}

// ReleaseToken clears the claim that owner holds. A token that is gone or unclaimed is not an
// error; another owner's claim is ErrLeaseLost, and stays.
func (s *Store) ReleaseToken(ctx context.Context, id, owner string) error {
	const what = "release token"
	v, err := s.run(ctx, what, releaseTokenScript, []string{s.tokenKey(id)}, owner)
	if err != nil {
		return err
	}
	if n, _ := v.(int64); n == 1 {
		return fmt.Errorf("redis: %s: %w", what, reset.ErrLeaseLost)
	}
	return nil
}

// CountTokens returns how many tokens are stored: the index entries of tokens that have not
// expired by this machine's clock (Redis has evicted the others, or will), counted by ZCOUNT.
func (s *Store) CountTokens(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("redis: count tokens: %w", err)
	}
	n, err := s.c.ZCount(ctx, s.tokensKey(), "("+ms(time.Now()), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("redis: count tokens: %w", err)
	}
	return int(n), nil
}

// DeleteUserTokens deletes every token of the account and returns how many were stored.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string) (int, error) {
	v, err := s.run(ctx, "delete user tokens", deleteUserTokensScript,
		[]string{s.userKey(userID), s.tokensKey()}, s.tokenKey(""), s.codeKey(""))
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return int(n), nil
}

// Tokens lists every stored token, oldest (by IssuedAt) first. It is meant for operators:
// it reads the tokens one by one (pipelined), so a token saved or deleted meanwhile may or
// may not be listed.
func (s *Store) Tokens(ctx context.Context) ([]reset.Token, error) {
	const what = "list tokens"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	ids, err := s.c.ZRange(ctx, s.tokensKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	maps, err := s.hashes(ctx, ids, s.tokenKey)
	if err != nil {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	var ts []reset.Token
	for i, m := range maps {
		if len(m) == 0 {
			continue // evicted by its TTL, not yet swept from the index
		}
		t, err := decodeToken(s.tokenKey(ids[i]), ids[i], m)
		if err != nil {
			return nil, fmt.Errorf("redis: %s: %w", what, err)
		}
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b reset.Token) int {
		if c := a.IssuedAt.Compare(b.IssuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ts, nil
}

// hashes reads the hash of each id in one pipeline; a missing hash is an empty map.
func (s *Store) hashes(ctx context.Context, ids []string, key func(string) string) ([]map[string]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*goredis.MapStringStringCmd, len(ids))
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, key(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	maps := make([]map[string]string, len(ids))
	for i, c := range cmds {
		maps[i] = c.Val()
	}
	return maps, nil
}

// DeleteExpired deletes the tokens that expired at or before now and returns how many were
// still stored (Redis evicts expired tokens by itself, so this is often zero); it also
// clears the index entries of evicted ones. Rate-limit windows need no sweep: they expire.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	v, err := s.run(ctx, "delete expired", deleteExpiredScript,
		[]string{s.tokensKey()}, s.tokenKey(""), s.userKey(""), ms(now), s.codeKey(""))
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return int(n), nil
}
