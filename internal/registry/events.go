package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sigil-dev/sigil/internal/notify"
)

// How a token was revoked: the "how" of a token.revoked event.
const (
	RevokedByDelete    = "delete"     // DELETE /api/tokens/{id} (or a client's deletion)
	RevokedByRevokeAll = "revoke-all" // a revoke-all cutoff covering its generation
	RevokedByPresented = "revoke"     // RFC 7009 revocation of its current JWT
)

// eventToken is what an event tells of r: never its JWT nor its jti.
func eventToken(r Record) *notify.Token {
	return &notify.Token{
		ID: r.ID, Type: r.Type, Name: r.Name, Owner: r.Owner, ReportID: r.ReportID, AppID: r.AppID,
		Scopes: slices.Clone(r.Scopes), ExpiresAt: cloneTime(r.ExpiresAt), GeneratedAt: cloneTime(r.GeneratedAt),
	}
}

// createdEvent is token.created for r (id derived from the record: a
// record is created once).
func createdEvent(r Record, by string, now time.Time) notify.Event {
	return notify.Event{ID: "created." + r.ID, Type: notify.TokenCreated, At: now, Owner: r.Owner, Actor: by, Token: eventToken(r)}
}

// generatedEvent is token.generated for the generation r carries, made by
// one call (call: a nonce of that call, so that the attempts of one
// Generate that retries after losing a compare-and-swap share one event id
// and the outbox keeps one event).
func generatedEvent(r Record, by, call string, now time.Time) notify.Event {
	return notify.Event{ID: "generated." + r.ID + "." + strconv.FormatInt(now.UnixMilli(), 10) + "." + call,
		Type: notify.TokenGenerated, At: now, Owner: r.Owner, Actor: by, Token: eventToken(r)}
}

// revokedEvent is token.revoked for r (a record is revoked once: id
// derived from it).
func revokedEvent(r Record, by, how string, now time.Time) notify.Event {
	return notify.Event{ID: "revoked." + r.ID, Type: notify.TokenRevoked, At: now, Owner: r.Owner, Actor: by,
		Token: eventToken(r), Data: map[string]string{"how": how}}
}

// roleEvent is owner.role_granted or owner.role_withdrawn.
func roleEvent(owner string, granted bool, by string, now time.Time) notify.Event {
	typ, verb := notify.RoleWithdrawn, "withdrawn"
	if granted {
		typ, verb = notify.RoleGranted, "granted"
	}
	return notify.Event{ID: "role." + verb + "." + randomID(), Type: typ, At: now, Owner: owner, Actor: by,
		Data: map[string]string{"role": RoleAPITokens}}
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// emit writes events to the outbox (nothing without one); a failure wraps
// the store's error (503: nothing was changed).
func (s *Service) emit(ctx context.Context, events ...notify.Event) error {
	if s.events == nil || len(events) == 0 {
		return nil
	}
	if err := s.events.Emit(ctx, events...); err != nil {
		return fmt.Errorf("emit %s: %w", events[0].Type, err)
	}
	return nil
}

// ConfirmStore is what a Confirmer reads.
type ConfirmStore interface {
	GetRecord(ctx context.Context, id string) (Record, error)
	HasRole(ctx context.Context, owner, role string) (bool, error)
}

// Confirmer tells the dispatcher whether the change a registry event
// reports is visible in the store (notify.Confirmer). The Service emits
// each event before the change it reports, so that no change exists
// without its event; an event whose change failed is never confirmed and
// is dropped after the confirm window.
type Confirmer struct{ store ConfirmStore }

var _ notify.Confirmer = (*Confirmer)(nil)

// NewConfirmer returns a Confirmer reading st.
func NewConfirmer(st ConfirmStore) *Confirmer { return &Confirmer{store: st} }

// Confirm implements notify.Confirmer:
//   - token.created: the record exists (in any state);
//   - token.generated: the record's generation is the event's or a later
//     one (generations are timed by the clock of the instance that made
//     them; docs/notifications.md says where that falls short);
//   - token.revoked: the record is revoked or gone;
//   - owner.role_granted / _withdrawn: the owner holds / does not hold the role;
//   - other types (expiry, auth failures) report no change: confirmed.
func (c *Confirmer) Confirm(ctx context.Context, e notify.Event) (bool, error) {
	switch e.Type {
	case notify.TokenCreated, notify.TokenGenerated, notify.TokenRevoked:
		if e.Token == nil {
			return true, nil
		}
		r, err := c.store.GetRecord(ctx, e.Token.ID)
		if errors.Is(err, ErrNotFound) {
			return e.Type == notify.TokenRevoked, nil
		}
		if err != nil {
			return false, err
		}
		switch e.Type {
		case notify.TokenGenerated:
			return r.GeneratedAt != nil && e.Token.GeneratedAt != nil && !r.GeneratedAt.Before(*e.Token.GeneratedAt), nil
		case notify.TokenRevoked:
			return r.Status == StatusRevoked, nil
		}
		return true, nil
	case notify.RoleGranted, notify.RoleWithdrawn:
		has, err := c.store.HasRole(ctx, e.Owner, RoleAPITokens)
		if err != nil {
			return false, err
		}
		return has == (e.Type == notify.RoleGranted), nil
	}
	return true, nil
}

// BurstStore is what a BurstWatcher reads and counts with.
type BurstStore interface {
	GetRecord(ctx context.Context, id string) (Record, error)
	CountFailure(ctx context.Context, key string, window time.Duration) (int64, error)
}

// BurstWatcher turns failed authentications with one registered token
// into token.auth_failures events: the Threshold-th failure within a
// window (counted in the store, across instances) emits one event; the
// rest of that window emits nothing more.
type BurstWatcher struct {
	store     BurstStore
	emitter   notify.Emitter
	threshold int64
	window    time.Duration
	now       func() time.Time

	mu sync.Mutex
	// quiet maps a record id to the end of a window whose event is out:
	// its failures are not counted again until then (bounded: maxQuiet).
	quiet map[string]time.Time
}

// maxQuiet bounds the records a BurstWatcher remembers as already reported.
const maxQuiet = 10_000

// burstKeyPrefix prefixes the failure counters of bursts in the store.
const burstKeyPrefix = "notify-auth:"

// NewBurstWatcher returns a watcher emitting to emitter; threshold < 1
// returns nil (no events).
func NewBurstWatcher(st BurstStore, emitter notify.Emitter, threshold int, window time.Duration, now func() time.Time) *BurstWatcher {
	if threshold < 1 || st == nil || emitter == nil {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &BurstWatcher{store: st, emitter: emitter, threshold: int64(threshold), window: window, now: now, quiet: map[string]time.Time{}}
}

// Failed counts n failed authentications with the token of recordID and
// emits token.auth_failures when they reach the threshold in a window.
func (w *BurstWatcher) Failed(ctx context.Context, recordID string, n int) error {
	now := w.now()
	w.mu.Lock()
	if until, ok := w.quiet[recordID]; ok && now.Before(until) {
		w.mu.Unlock()
		return nil
	}
	w.mu.Unlock()
	for range min(int64(n), w.threshold) {
		count, err := w.store.CountFailure(ctx, burstKeyPrefix+recordID, w.window)
		if err != nil {
			return err
		}
		if count < w.threshold {
			continue
		}
		w.mu.Lock()
		if len(w.quiet) >= maxQuiet {
			for k, t := range w.quiet {
				if !now.Before(t) {
					delete(w.quiet, k)
				}
			}
			if len(w.quiet) >= maxQuiet {
				clear(w.quiet)
			}
		}
		w.quiet[recordID] = now.Add(w.window)
		w.mu.Unlock()
		if count > w.threshold {
			return nil // this window's event is out (another instance, or earlier)
		}
		r, err := w.store.GetRecord(ctx, recordID)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		e := notify.Event{
			ID: "auth_failures." + r.ID + "." + strconv.FormatInt(now.UnixMilli(), 10), Type: notify.TokenAuthFailures,
			At: now, Owner: r.Owner, Token: eventToken(r),
			Data: map[string]string{"failures": strconv.FormatInt(w.threshold, 10), "window": w.window.String()},
		}
		if err := w.emitter.Emit(ctx, e); err != nil {
			return fmt.Errorf("emit %s: %w", notify.TokenAuthFailures, err)
		}
		return nil
	}
	return nil
}
