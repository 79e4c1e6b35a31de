package revocation

import (
	"context"
	"fmt"
	"time"

	"github.com/sigil-dev/sigil/internal/token"
)

// Service checks revocations directly against a Store on every request
// (revocation.mode: direct, and the memory store). It satisfies token.Revocation.
type Service struct {
	store  Store
	leeway time.Duration
	now    func() time.Time
}

var _ token.MemoRevocation = (*Service)(nil)

// NewService returns a Service. leeway is the verifier's clock leeway: a
// token is accepted until exp+leeway, so its denylist entry lives that long.
func NewService(store Store, leeway time.Duration, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, leeway: leeway, now: now}
}

// Check returns token.ErrRevoked if the token's jti or registered id is
// denied or a cutoff covers it, nil if not, and a store error (wrapping
// ErrUnavailable) if the store can't be read.
func (s *Service) Check(ctx context.Context, c *token.Claims) error {
	return s.check(ctx, c, lookupsOf(c))
}

// CheckMemo is Check with what it looks up for the token (its denylist ids
// and cutoff keys) kept in m, the memo of its verified-token cache entry:
// they depend on the claims alone (jti, tid, subject, client, resource),
// which never change for a cached token. The denylist and the cutoffs
// themselves are read from the store on every call, so a revocation or
// cutoff written after the token was cached still rejects it on its next
// use: only the keys are remembered, never a verdict. A nil m derives them
// as Check does.
func (s *Service) CheckMemo(ctx context.Context, c *token.Claims, m *token.Memo) error {
	if m == nil {
		return s.Check(ctx, c)
	}
	l, ok := m.Load().(*lookups)
	if !ok {
		l = lookupsOf(c)
		m.Store(l)
	}
	return s.check(ctx, c, l)
}

// lookups are the store keys a token's revocation check reads.
type lookups struct {
	// ids are the denylist ids: the jti, and the tid of a registered token.
	ids []string
	// cutoffs are cutoffKeys(c).
	cutoffs []string
}

func lookupsOf(c *token.Claims) *lookups {
	l := &lookups{cutoffs: cutoffKeys(c)}
	if c.TID != "" {
		l.ids = []string{c.ID, c.TID}
	} else {
		l.ids = []string{c.ID}
	}
	return l
}

func (s *Service) check(ctx context.Context, c *token.Claims, l *lookups) error {
	denied, err := s.store.IsDenied(ctx, l.ids...)
	if err != nil {
		return fmt.Errorf("check revocation: %w", err)
	}
	if denied {
		return token.ErrRevoked
	}
	latest, err := s.store.LatestCutoff(ctx, l.cutoffs...)
	if err != nil {
		return fmt.Errorf("check revocation cutoffs: %w", err)
	}
	if cutBy(c, cutoffMilli(latest)) {
		return token.ErrRevoked
	}
	return nil
}

// Revoke denies the token's jti for as long as a verifier could accept it.
// A token already past exp+leeway is dead anyway: nothing is written.
// It returns only after the store has taken the entry.
func (s *Service) Revoke(ctx context.Context, c *token.Claims) error {
	until, live := denyUntil(c, s.leeway, s.now())
	if !live {
		return nil
	}
	if err := s.store.Deny(ctx, c.ID, until); err != nil {
		return fmt.Errorf("revoke token %s: %w", c.ID, err)
	}
	return nil
}

// RevokeOnce revokes the token like Revoke, but reports first=true only to
// the one caller that revoked it: a token already revoked (or dead) gives
// first=false. It is how a token is exchanged exactly once (refresh).
func (s *Service) RevokeOnce(ctx context.Context, c *token.Claims) (bool, error) {
	until, live := denyUntil(c, s.leeway, s.now())
	if !live {
		return false, nil
	}
	first, err := s.store.DenyOnce(ctx, c.ID, until)
	if err != nil {
		return false, fmt.Errorf("revoke token %s once: %w", c.ID, err)
	}
	return first, nil
}

// RevokeAll writes a cutoff at now (to the millisecond, cutoffAt) and
// returns its time.
func (s *Service) RevokeAll(ctx context.Context, cut Cutoff) (time.Time, error) {
	at := cutoffAt(s.now())
	if err := s.store.SetCutoff(ctx, cut.Key(), at); err != nil {
		return time.Time{}, fmt.Errorf("revoke all of %s: %w", cut.Dim, err)
	}
	return at, nil
}

// Ping reports whether the store is reachable.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// denyUntil is how long a denylist entry for c must live: until exp+leeway,
// or forever for a token without exp. live is false when that is already past.
func denyUntil(c *token.Claims, leeway time.Duration, now time.Time) (until time.Time, live bool) {
	if c.ExpiresAt == nil {
		return time.Time{}, true
	}
	until = c.ExpiresAt.Add(leeway)
	return until, until.After(now)
}
