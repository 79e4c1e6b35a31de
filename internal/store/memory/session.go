package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sigil-dev/sigil/internal/console"
)

var _ console.Store = (*Sessions)(nil)

// minSessionPruneAt is the session count below which CreateSession never prunes.
const minSessionPruneAt = 1024

// Sessions keeps console sessions in a map guarded by a mutex; expired
// ones are invisible at once and dropped as the map grows, so memory stays
// bounded by the live sessions. Everything is lost when the process exits.
// Call NewSessions.
type Sessions struct {
	now func() time.Time

	mu      sync.Mutex
	m       map[string]console.Session
	pruneAt int
}

// NewSessions returns an empty Sessions that reads the time from now
// (time.Now if nil) to expire sessions.
func NewSessions(now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{now: now, m: make(map[string]console.Session), pruneAt: minSessionPruneAt}
}

// CreateSession stores a copy of sess.
func (s *Sessions) CreateSession(_ context.Context, sess console.Session) error {
	sess.SecretTag = slices.Clone(sess.SecretTag)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[sess.ID] = sess
	if len(s.m) >= s.pruneAt {
		now := s.now()
		for id, v := range s.m {
			if !now.Before(v.ExpiresAt) {
				delete(s.m, id)
			}
		}
		s.pruneAt = max(2*len(s.m), minSessionPruneAt)
	}
	return nil
}

// GetSession returns a copy of the live session id, or console.ErrNotFound.
func (s *Sessions) GetSession(_ context.Context, id string) (console.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if ok && !s.now().Before(v.ExpiresAt) {
		delete(s.m, id)
		ok = false
	}
	if !ok {
		return console.Session{}, fmt.Errorf("get session: %w", console.ErrNotFound)
	}
	v.SecretTag = slices.Clone(v.SecretTag)
	return v, nil
}

// TouchSession updates a live session's LastSeen and ExpiresAt.
func (s *Sessions) TouchSession(_ context.Context, id string, lastSeen, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if !ok || !s.now().Before(v.ExpiresAt) {
		return fmt.Errorf("touch session: %w", console.ErrNotFound)
	}
	v.LastSeen, v.ExpiresAt = lastSeen, expiresAt
	s.m[id] = v
	return nil
}

// DeleteSession removes the session id, if any.
func (s *Sessions) DeleteSession(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

// Len is the number of sessions held, expired ones not yet dropped included.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
