package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/console"
)

var _ console.Store = (*Store)(nil)

// The console's sessions live under
//
//	<prefix>session:<sha256 of the session id, hex>  string: sessionV1 as JSON, with a TTL to its expiry
//	<prefix>sessions:<client id>  sorted set: the client's session ids scored by CreatedAt (Unix ms),
//	                                kept while a member may live (TTL moved on with the longest one);
//	                                written only when CreateSession bounds the client's sessions
//
// The cookie's value is never a key nor part of one.
func (s *Store) sessionKey(id string) string { return s.prefix + "session:" + id }

// clientSessionsKey is the index of a client's sessions.
func (s *Store) clientSessionsKey(clientID string) string { return s.prefix + "sessions:" + clientID }

// sessionV1 is the stored form of a console.Session.
type sessionV1 struct {
	ClientID  string    `json:"clientId"`
	SecretTag []byte    `json:"secretTag"`
	CreatedAt time.Time `json:"createdAt"`
	LastSeen  time.Time `json:"lastSeen"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// sessionTTL is how long Redis keeps a session expiring at exp, by the
// store's clock; at least a millisecond, so that SET gets a positive TTL.
func (s *Store) sessionTTL(exp time.Time) time.Duration {
	return max(exp.Sub(s.now()), time.Millisecond)
}

// CreateSession writes the session with a TTL to its ExpiresAt and, when
// keep > 0, indexes it under its client and ends the client's oldest other
// sessions past keep. The steps are not one transaction (session and index
// keys may sit on different Cluster slots): two sign-ins at once may each
// see the other's session, and each index member is ended by whichever
// ZREM removes it, so the bound holds and no session is ended twice.
func (s *Store) CreateSession(ctx context.Context, sess console.Session, keep int) error {
	b, err := json.Marshal(sessionV1{ClientID: sess.ClientID, SecretTag: sess.SecretTag,
		CreatedAt: sess.CreatedAt.UTC(), LastSeen: sess.LastSeen.UTC(), ExpiresAt: sess.ExpiresAt.UTC()})
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	ttl := s.sessionTTL(sess.ExpiresAt)
	if err := s.client.Set(ctx, s.sessionKey(sess.ID), b, ttl).Err(); err != nil {
		return unavailable("create session", err)
	}
	if keep <= 0 {
		return nil
	}
	idx := s.clientSessionsKey(sess.ClientID)
	_, err = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZAdd(ctx, idx, goredis.Z{Score: float64(sess.CreatedAt.UnixMilli()), Member: sess.ID})
		p.ExpireNX(ctx, idx, ttl)
		p.ExpireGT(ctx, idx, ttl)
		return nil
	})
	if err != nil {
		return unavailable("index session", err)
	}
	return s.boundSessions(ctx, idx, sess.ID, keep)
}

// boundSessions drops from index idx the sessions that no longer exist and
// ends the oldest others past keep, never the session newID.
func (s *Store) boundSessions(ctx context.Context, idx, newID string, keep int) error {
	n, err := s.client.ZCard(ctx, idx).Result()
	if err != nil {
		return unavailable("count sessions", err)
	}
	if n <= int64(keep) {
		return nil
	}
	members, err := s.client.ZRangeWithScores(ctx, idx, 0, -1).Result() // oldest first; at most keep + a few
	if err != nil {
		return unavailable("list sessions", err)
	}
	ids := make([]string, 0, len(members))
	for _, m := range members {
		if id, _ := m.Member.(string); id != newID {
			ids = append(ids, id)
		}
	}
	// Live by the store's clock, as GetSession says: a session past its
	// ExpiresAt whose key Redis has not expired yet is gone too.
	reads := make([]*goredis.StringCmd, len(ids))
	if _, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			reads[i] = p.Get(ctx, s.sessionKey(id))
		}
		return nil
	}); err != nil && !errors.Is(err, goredis.Nil) {
		return unavailable("list sessions", err)
	}
	now := s.now()
	live := ids[:0]
	var gone []any
	for i, id := range ids {
		var v sessionV1
		b, err := reads[i].Bytes()
		if err != nil || json.Unmarshal(b, &v) != nil || !now.Before(v.ExpiresAt) {
			gone = append(gone, id)
		} else {
			live = append(live, id)
		}
	}
	if len(gone) > 0 {
		if err := s.client.ZRem(ctx, idx, gone...).Err(); err != nil {
			return unavailable("prune sessions", err)
		}
	}
	for _, id := range live[:max(len(live)-(keep-1), 0)] {
		removed, err := s.client.ZRem(ctx, idx, id).Result()
		if err != nil {
			return unavailable("end session", err)
		}
		if removed == 1 {
			if err := s.client.Del(ctx, s.sessionKey(id)).Err(); err != nil {
				return unavailable("end session", err)
			}
		}
	}
	return nil
}

// GetSession reads the session id; console.ErrNotFound when absent or past
// its ExpiresAt by the store's clock.
func (s *Store) GetSession(ctx context.Context, id string) (console.Session, error) {
	b, err := s.client.Get(ctx, s.sessionKey(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return console.Session{}, fmt.Errorf("get session: %w", console.ErrNotFound)
	}
	if err != nil {
		return console.Session{}, unavailable("get session", err)
	}
	var v sessionV1
	if err := json.Unmarshal(b, &v); err != nil {
		return console.Session{}, fmt.Errorf("decode session: %w", err)
	}
	if !s.now().Before(v.ExpiresAt) {
		return console.Session{}, fmt.Errorf("get session: %w", console.ErrNotFound)
	}
	return console.Session{ID: id, ClientID: v.ClientID, SecretTag: v.SecretTag,
		CreatedAt: v.CreatedAt, LastSeen: v.LastSeen, ExpiresAt: v.ExpiresAt}, nil
}

// TouchSession rewrites an existing session's LastSeen and ExpiresAt (SET
// XX: a session deleted meanwhile is not brought back).
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	sess, err := s.GetSession(ctx, id)
	if err != nil {
		return err
	}
	b, err := json.Marshal(sessionV1{ClientID: sess.ClientID, SecretTag: sess.SecretTag,
		CreatedAt: sess.CreatedAt, LastSeen: lastSeen.UTC(), ExpiresAt: expiresAt.UTC()})
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	ttl := s.sessionTTL(expiresAt)
	err = s.client.SetArgs(ctx, s.sessionKey(id), b, goredis.SetArgs{Mode: "XX", TTL: ttl}).Err()
	if errors.Is(err, goredis.Nil) {
		return fmt.Errorf("touch session: %w", console.ErrNotFound)
	}
	if err != nil {
		return unavailable("touch session", err)
	}
	// The client's index lives as long as its longest session (GT: never
	// shortened; a client without an index has none to move).
	if err := s.client.ExpireGT(ctx, s.clientSessionsKey(sess.ClientID), ttl).Err(); err != nil {
		return unavailable("touch session", err)
	}
	return nil
}

// DeleteSession deletes the session id, if any.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.client.Del(ctx, s.sessionKey(id)).Err(); err != nil {
		return unavailable("delete session", err)
	}
	return nil
}
