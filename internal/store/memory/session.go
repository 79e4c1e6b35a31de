package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	// byClient indexes m by client id (the per-client bound).
	byClient map[string]map[string]struct{}
}

// NewSessions returns an empty Sessions that reads the time from now
// (time.Now if nil) to expire sessions.
func NewSessions(now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{now: now, m: make(map[string]console.Session), pruneAt: minSessionPruneAt,
		byClient: make(map[string]map[string]struct{})}
}

// CreateSession stores a copy of sess, ending the client's oldest other
// sessions past keep (0: no bound).
func (s *Sessions) CreateSession(_ context.Context, sess console.Session, keep int) error {
	sess.SecretTag = slices.Clone(sess.SecretTag)
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.m[sess.ID]; ok {
		s.remove(prev)
	}
	s.m[sess.ID] = sess
	ids := s.byClient[sess.ClientID]
	if ids == nil {
		ids = make(map[string]struct{})
		s.byClient[sess.ClientID] = ids
	}
	ids[sess.ID] = struct{}{}
	now := s.now()
	if keep > 0 && len(ids) > keep {
		others := make([]console.Session, 0, len(ids))
		for id := range ids {
			v := s.m[id]
			switch {
			case id == sess.ID:
			case !now.Before(v.ExpiresAt):
				s.remove(v)
			default:
				others = append(others, v)
			}
		}
		slices.SortFunc(others, olderFirst)
		for _, v := range others[:max(len(others)-(keep-1), 0)] {
			s.remove(v)
		}
	}
	if len(s.m) >= s.pruneAt {
		for _, v := range s.m {
			if !now.Before(v.ExpiresAt) {
				s.remove(v)
			}
		}
		s.pruneAt = max(2*len(s.m), minSessionPruneAt)
	}
	return nil
}

// olderFirst orders sessions by CreatedAt, then ID.
func olderFirst(a, b console.Session) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// remove drops v from the map and the client index; s.mu is held.
func (s *Sessions) remove(v console.Session) {
	delete(s.m, v.ID)
	if ids := s.byClient[v.ClientID]; ids != nil {
		delete(ids, v.ID)
		if len(ids) == 0 {
			delete(s.byClient, v.ClientID)
		}
	}
}

// GetSession returns a copy of the live session id, or console.ErrNotFound.
func (s *Sessions) GetSession(_ context.Context, id string) (console.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if ok && !s.now().Before(v.ExpiresAt) {
		s.remove(v)
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
	if v, ok := s.m[id]; ok {
		s.remove(v)
	}
	return nil
}

// Len is the number of sessions held, expired ones not yet dropped included.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
