package revocation

import (
	"context"
	"time"

	"github.com/sigil-dev/sigil/internal/apperr"
)

// ErrUnavailable wraps store failures: the denylist could not be read or written.
// Callers answer 503, never a false success. It is apperr.ErrStoreUnavailable,
// so one check covers every store.
var ErrUnavailable = apperr.ErrStoreUnavailable

// Store persists denylist entries keyed by token id (a jti or a registered record id).
type Store interface {
	// Deny records id as revoked until expiresAt, after which the entry may vanish.
	// A zero expiresAt means the entry never expires. Denying an id already denied
	// keeps the later of the two expiries. Returns only once the entry is durably
	// written (as durable as the backend is); any failure is returned wrapped.
	Deny(ctx context.Context, id string, expiresAt time.Time) error
	// IsDenied reports whether any of ids is on the denylist.
	IsDenied(ctx context.Context, ids ...string) (bool, error)
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}
