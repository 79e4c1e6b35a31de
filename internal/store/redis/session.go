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
//
// The cookie's value is never a key nor part of one.
func (s *Store) sessionKey(id string) string { return s.prefix + "session:" + id }

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

// CreateSession writes the session with a TTL to its ExpiresAt.
func (s *Store) CreateSession(ctx context.Context, sess console.Session) error {
	b, err := json.Marshal(sessionV1{ClientID: sess.ClientID, SecretTag: sess.SecretTag,
		CreatedAt: sess.CreatedAt.UTC(), LastSeen: sess.LastSeen.UTC(), ExpiresAt: sess.ExpiresAt.UTC()})
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	if err := s.client.Set(ctx, s.sessionKey(sess.ID), b, s.sessionTTL(sess.ExpiresAt)).Err(); err != nil {
		return unavailable("create session", err)
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
	err = s.client.SetArgs(ctx, s.sessionKey(id), b, goredis.SetArgs{Mode: "XX", TTL: s.sessionTTL(expiresAt)}).Err()
	if errors.Is(err, goredis.Nil) {
		return fmt.Errorf("touch session: %w", console.ErrNotFound)
	}
	if err != nil {
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
