package memory

import (
	"context"
	"slices"
	"time"

	"github.com/sigil-dev/sigil/internal/registry"
)

// notifyState is what Registry keeps for notifications, under Registry.mu.
type notifyState struct {
	emails map[string]string // owner -> address
	// expiry is the expiry index: every record with an ExpiresAt, sorted
	// by (At, ID), maintained on create, update and delete.
	expiry  []registry.ExpiryPos
	cursors map[string]registry.ExpiryPos
	marks   map[string]time.Time // sent mark -> when it is dropped
	leases  map[string]lease
}

type lease struct {
	holder string
	until  time.Time
}

func expiryPos(r registry.Record) (registry.ExpiryPos, bool) {
	if r.ID == "" || r.ExpiresAt == nil {
		return registry.ExpiryPos{}, false
	}
	return registry.ExpiryPos{At: r.ExpiresAt.Truncate(time.Millisecond), ID: r.ID}, true
}

func comparePos(a, b registry.ExpiryPos) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// reindexExpiry moves a record's entry in the expiry index from old to
// next (the zero Record for none); the caller holds the write lock.
func (s *Registry) reindexExpiry(old, next registry.Record) {
	op, hadOld := expiryPos(old)
	np, hasNext := expiryPos(next)
	if hadOld && hasNext && op == np {
		return
	}
	idx := s.notify.expiry
	if hadOld {
		if i, found := slices.BinarySearchFunc(idx, op, comparePos); found {
			idx = slices.Delete(idx, i, i+1)
		}
	}
	if hasNext {
		if i, found := slices.BinarySearchFunc(idx, np, comparePos); !found {
			idx = slices.Insert(idx, i, np)
		}
	}
	s.notify.expiry = idx
}

// ExpiringAfter returns up to limit index positions after `after` and at or
// before until, earliest first: a binary search, then a walk.
func (s *Registry) ExpiringAfter(_ context.Context, after registry.ExpiryPos, until time.Time, limit int) ([]registry.ExpiryPos, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	idx := s.notify.expiry
	i, found := slices.BinarySearchFunc(idx, after, comparePos)
	if found {
		i++
	}
	var out []registry.ExpiryPos
	for ; i < len(idx) && (limit <= 0 || len(out) < limit); i++ {
		if idx[i].At.After(until) {
			break
		}
		out = append(out, idx[i])
	}
	return out, nil
}

// SetOwnerEmail stores owner's address; "" removes it.
func (s *Registry) SetOwnerEmail(_ context.Context, owner, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if email == "" {
		delete(s.notify.emails, owner)
		return nil
	}
	if s.notify.emails == nil {
		s.notify.emails = make(map[string]string)
	}
	s.notify.emails[owner] = email
	return nil
}

// OwnerEmail returns owner's address, "" when none.
func (s *Registry) OwnerEmail(_ context.Context, owner string) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.notify.emails[owner], nil
}

// ScanCursor returns the cursor stored under name, false when none.
func (s *Registry) ScanCursor(_ context.Context, name string) (registry.ExpiryPos, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.notify.cursors[name]
	return p, ok, nil
}

// SetScanCursor stores the cursor under name.
func (s *Registry) SetScanCursor(_ context.Context, name string, pos registry.ExpiryPos) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notify.cursors == nil {
		s.notify.cursors = make(map[string]registry.ExpiryPos)
	}
	s.notify.cursors[name] = pos
	return nil
}

// Marked reports whether the sent mark key is set (and not past its TTL).
func (s *Registry) Marked(_ context.Context, key string) (bool, error) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	until, ok := s.notify.marks[key]
	return ok && now.Before(until), nil
}

// Mark sets the sent mark key for ttl.
func (s *Registry) Mark(_ context.Context, key string, ttl time.Duration) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notify.marks == nil {
		s.notify.marks = make(map[string]time.Time)
	}
	for k, until := range s.notify.marks {
		if !now.Before(until) {
			delete(s.notify.marks, k)
		}
	}
	s.notify.marks[key] = now.Add(ttl)
	return nil
}

// AcquireLease takes the lease name for holder for ttl if it is free or
// past its time; it reports whether holder has it.
func (s *Registry) AcquireLease(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.notify.leases[name]; ok && l.holder != holder && now.Before(l.until) {
		return false, nil
	}
	if s.notify.leases == nil {
		s.notify.leases = make(map[string]lease)
	}
	s.notify.leases[name] = lease{holder: holder, until: now.Add(ttl)}
	return true, nil
}

// RenewLease extends holder's lease by ttl; false if holder no longer has it.
func (s *Registry) RenewLease(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.notify.leases[name]
	if !ok || l.holder != holder || !now.Before(l.until) {
		return false, nil
	}
	s.notify.leases[name] = lease{holder: holder, until: now.Add(ttl)}
	return true, nil
}

// ReleaseLease gives holder's lease up; another holder's is left alone.
func (s *Registry) ReleaseLease(_ context.Context, name, holder string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.notify.leases[name]; ok && l.holder == holder {
		delete(s.notify.leases, name)
	}
	return nil
}
