package revocation

import (
	"context"
	"fmt"
	"time"

	"github.com/sigil-dev/sigil/internal/token"
)

// Service checks and records revocations against a Store. It satisfies
// token.Revocation.
type Service struct {
	store  Store
	leeway time.Duration
	now    func() time.Time
}

var _ token.Revocation = (*Service)(nil)

// NewService returns a Service. leeway is the verifier's clock leeway: a
// token is accepted until exp+leeway, so its denylist entry lives that long.
func NewService(store Store, leeway time.Duration, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, leeway: leeway, now: now}
}

// Check returns token.ErrRevoked if the token's jti or registered id is
// denied, nil if neither is, and a store error (wrapping ErrUnavailable) if
// the denylist can't be read.
func (s *Service) Check(ctx context.Context, c *token.Claims) error {
	var denied bool
	var err error
	if c.TID != "" {
		denied, err = s.store.IsDenied(ctx, c.ID, c.TID)
	} else {
		denied, err = s.store.IsDenied(ctx, c.ID)
	}
	if err != nil {
		return fmt.Errorf("check revocation: %w", err)
	}
	if denied {
		return token.ErrRevoked
	}
	return nil
}

// Revoke denies the token's jti for as long as a verifier could accept it.
// A token already past exp+leeway is dead anyway: nothing is written.
// It returns only after the store has taken the entry.
func (s *Service) Revoke(ctx context.Context, c *token.Claims) error {
	var until time.Time
	if c.ExpiresAt != nil {
		until = c.ExpiresAt.Add(s.leeway)
		if !until.After(s.now()) {
			return nil
		}
	}
	if err := s.store.Deny(ctx, c.ID, until); err != nil {
		return fmt.Errorf("revoke token %s: %w", c.ID, err)
	}
	return nil
}

// Ping reports whether the denylist store is reachable.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }
