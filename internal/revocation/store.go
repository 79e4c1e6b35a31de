package revocation

import (
	"context"
	"errors"
	"time"

	"github.com/sigil-dev/sigil/internal/apperr"
)

// ErrUnavailable wraps store failures: the denylist could not be read or written.
// Callers answer 503, never a false success. It is apperr.ErrStoreUnavailable,
// so one check covers every store.
var ErrUnavailable = apperr.ErrStoreUnavailable

// Store persists denylist entries keyed by token id (a jti or a registered
// record id) and cutoffs keyed by Cutoff.Key.
type Store interface {
	// Deny records id as revoked until expiresAt, after which the entry may vanish.
	// A zero expiresAt means the entry never expires. Denying an id already denied
	// keeps the later of the two expiries. Returns only once the entry is durably
	// written (as durable as the backend is); any failure is returned wrapped.
	Deny(ctx context.Context, id string, expiresAt time.Time) error
	// DenyOnce is Deny that succeeds for one caller only: it writes and
	// returns first=true if id had no live entry, and returns first=false
	// without writing otherwise (or when expiresAt is already past). Atomic:
	// of concurrent callers exactly one is first. Refresh uses it so that one
	// token cannot be swapped for two.
	DenyOnce(ctx context.Context, id string, expiresAt time.Time) (first bool, err error)
	// IsDenied reports whether any of ids is on the denylist.
	IsDenied(ctx context.Context, ids ...string) (bool, error)
	// SetCutoff records that tokens of key issued at or before at are revoked;
	// an existing later cutoff is kept. Cutoffs never expire.
	SetCutoff(ctx context.Context, key string, at time.Time) error
	// LatestCutoff returns the latest cutoff among keys, zero if none is set.
	LatestCutoff(ctx context.Context, keys ...string) (time.Time, error)
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// Event is one change of the shared revocation state, broadcast to every instance.
type Event struct {
	// Cutoff is true for a cutoff (Key, At) and false for a denial (Key is the id, At its expiry, zero for never).
	Cutoff bool
	Key    string
	At     time.Time
}

// SyncStore is a Store shared by several instances, which each keep a
// replica of it (Redis). Deny and SetCutoff also broadcast an Event.
type SyncStore interface {
	Store
	// ScanDenied calls fn for every live denylist entry.
	ScanDenied(ctx context.Context, fn func(id string, expiresAt time.Time)) error
	// ScanCutoffs calls fn for every cutoff.
	ScanCutoffs(ctx context.Context, fn func(key string, at time.Time)) error
	// Subscribe delivers broadcast events to onEvent until ctx ends. It calls
	// onConnect each time the subscription is (re)established — events may
	// have been missed before that — and onError when it breaks.
	Subscribe(ctx context.Context, onEvent func(Event), onConnect func(), onError func(error))
	// Epoch returns the store's epoch, "" if unset: a store that lost its
	// data (restart without persistence, failover) comes back without one.
	// A store spread over several masters whose epoch is set on some and
	// missing on others (one master lost its data) returns an error
	// wrapping ErrEpochIncomplete.
	Epoch(ctx context.Context) (string, error)
	// InitEpoch sets the epoch to candidate unless one is set, and returns the epoch in force.
	InitEpoch(ctx context.Context, candidate string) (string, error)
}

// ErrEpochIncomplete is Epoch's error for a store part of which lost its
// data (a cluster master that restarted empty): an instance that knew the
// epoch re-seeds it; one that never did must not trust it meanwhile.
var ErrEpochIncomplete = errors.New("store epoch incomplete: part of the store lost its data")
