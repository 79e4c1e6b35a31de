package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/revocation"
)

// Store implements the client and revocation stores; interfaces that
// packages above the domain declare are asserted in interfaces_test.go, so
// that this package never imports them.
var (
	_ clients.Store    = (*Store)(nil)
	_ revocation.Store = (*Store)(nil)
)

// minPruneAt is the denylist size below which Deny never prunes.
const minPruneAt = 1024

// Store keeps client records, denylist entries and cutoffs in maps guarded by one
// RWMutex. Everything is lost when the process exits. The zero value is not
// usable; call New.
type Store struct {
	now func() time.Time

	mu      sync.RWMutex
	clients map[string]clients.Client
	// deny maps an id to the instant its entry expires; the zero time means never.
	deny map[string]time.Time
	// cutoffs maps a cutoff key to its time.
	cutoffs map[string]time.Time
	// pruneAt is the denylist size at which Deny next prunes expired
	// entries, so memory stays bounded without a background goroutine.
	pruneAt int
}

// New returns an empty Store that reads the time from now (time.Now if nil)
// to decide which denylist entries have expired.
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{
		now:     now,
		clients: make(map[string]clients.Client),
		deny:    make(map[string]time.Time),
		cutoffs: make(map[string]time.Time),
		pruneAt: minPruneAt,
	}
}

// CreateClient stores a copy of c; an error wrapping clients.ErrAlreadyExists
// if c.ID is taken.
func (s *Store) CreateClient(_ context.Context, c clients.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return fmt.Errorf("create client %q: %w", c.ID, clients.ErrAlreadyExists)
	}
	s.clients[c.ID] = clone(c)
	return nil
}

// GetClient returns a copy of the client with id; an error wrapping
// clients.ErrNotFound if there is none.
func (s *Store) GetClient(_ context.Context, id string) (clients.Client, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.clients[id]
	if !ok {
		return clients.Client{}, fmt.Errorf("get client %q: %w", id, clients.ErrNotFound)
	}
	return clone(c), nil
}

// ListClients returns copies of every client ordered by ID.
func (s *Store) ListClients(_ context.Context) ([]clients.Client, error) {
	s.mu.RLock()
	out := make([]clients.Client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, clone(c))
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b clients.Client) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// UpdateClient replaces the record with c.ID by a copy of c; an error
// wrapping clients.ErrNotFound if there is none.
func (s *Store) UpdateClient(_ context.Context, c clients.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; !ok {
		return fmt.Errorf("update client %q: %w", c.ID, clients.ErrNotFound)
	}
	s.clients[c.ID] = clone(c)
	return nil
}

// DeleteClient removes the client with id; an error wrapping
// clients.ErrNotFound if there is none.
func (s *Store) DeleteClient(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[id]; !ok {
		return fmt.Errorf("delete client %q: %w", id, clients.ErrNotFound)
	}
	delete(s.clients, id)
	return nil
}

// Deny records id as revoked until expiresAt (zero: forever). An entry
// already present keeps the later expiry, and forever beats any time. An
// expiresAt not after now writes nothing: such a token is dead anyway. It
// never fails.
func (s *Store) Deny(_ context.Context, id string, expiresAt time.Time) error {
	now := s.clock()
	if !expiresAt.IsZero() && !expiresAt.After(now) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.deny[id]; ok && live(cur, now) && !later(expiresAt, cur) {
		return nil
	}
	s.deny[id] = expiresAt
	if len(s.deny) >= s.pruneAt {
		s.prune(now)
		s.pruneAt = max(2*len(s.deny), minPruneAt)
	}
	return nil
}

// DenyOnce writes id's entry only if it has no live one, under the write lock.
func (s *Store) DenyOnce(_ context.Context, id string, expiresAt time.Time) (bool, error) {
	now := s.clock()
	if !expiresAt.IsZero() && !expiresAt.After(now) {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.deny[id]; ok && live(cur, now) {
		return false, nil
	}
	s.deny[id] = expiresAt
	return true, nil
}

// IsDenied reports whether any of ids has an unexpired entry. It takes only
// the read lock and does not allocate. It never fails.
func (s *Store) IsDenied(_ context.Context, ids ...string) (bool, error) {
	if len(ids) == 0 {
		return false, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// The clock is read only for an id that has an entry: the usual
	// answer (no entry) needs no time.
	var now time.Time
	for _, id := range ids {
		exp, ok := s.deny[id]
		if !ok {
			continue
		}
		if now.IsZero() {
			now = s.clock()
		}
		if live(exp, now) {
			return true, nil
		}
	}
	return false, nil
}

// SetCutoff records that tokens of key issued at or before at (kept to the
// millisecond) are revoked; an existing later cutoff is kept. Cutoffs never
// expire. A zero at is an error: it would revoke nothing.
func (s *Store) SetCutoff(_ context.Context, key string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("set cutoff %q: zero time", key)
	}
	at = at.UTC().Truncate(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.cutoffs[key]; !ok || at.After(cur) {
		s.cutoffs[key] = at
	}
	return nil
}

// LatestCutoff returns the latest cutoff among keys (UTC), or the zero time
// if none is set. It takes only the read lock and does not allocate. It
// never fails.
func (s *Store) LatestCutoff(_ context.Context, keys ...string) (time.Time, error) {
	var latest time.Time
	if len(keys) == 0 {
		return latest, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range keys {
		if at, ok := s.cutoffs[k]; ok && at.After(latest) {
			latest = at
		}
	}
	return latest, nil
}

// Ping always succeeds: memory is always reachable.
func (s *Store) Ping(context.Context) error { return nil }

// Prune deletes the denylist entries that have expired at now and returns how
// many it deleted. Expired entries are already invisible to IsDenied; Prune
// only frees their memory. Deny also prunes now and then, as the list grows.
func (s *Store) Prune(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prune(now)
}

// prune deletes expired entries; the caller holds the write lock.
func (s *Store) prune(now time.Time) int {
	n := 0
	for id, exp := range s.deny {
		if !live(exp, now) {
			delete(s.deny, id)
			n++
		}
	}
	return n
}

// clock reads the injected clock once, in UTC, truncated to the second.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

// live reports whether an entry expiring at exp is still in force at now.
func live(exp, now time.Time) bool { return exp.IsZero() || now.Before(exp) }

// later reports whether expiry a outlasts expiry b, where zero means never.
func later(a, b time.Time) bool {
	switch {
	case a.IsZero():
		return !b.IsZero()
	case b.IsZero():
		return false
	default:
		return a.After(b)
	}
}

// clone returns c with its slices copied, so that neither the caller nor the
// store can change the other's copy.
func clone(c clients.Client) clients.Client {
	c.Resources = slices.Clone(c.Resources)
	c.Scopes = slices.Clone(c.Scopes)
	c.SecretHash = slices.Clone(c.SecretHash)
	return c
}
