package token

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/keys"
)

// Keys is what minting and verifying need from the key ring (keys.Ring will
// satisfy it). Active returns the signing key, or nil if there is none;
// Lookup returns the key with that kid, if loaded.
type Keys interface {
	Active() *keys.Key
	Lookup(kid string) (*keys.Key, bool)
}

// IssuerConfig configures an Issuer.
type IssuerConfig struct {
	// Issuer and Audience become every token's iss and aud.
	Issuer, Audience string
	// Keys supplies the active signing key.
	Keys Keys
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID mints jti values; nil means NewJTI at the clock's instant (a
	// UUIDv7 whose timestamp is the issue instant in milliseconds).
	NewID func() string
}

// Issuer mints signed tokens. It is safe for concurrent use.
type Issuer struct {
	iss, aud string
	keys     Keys
	now      func() time.Time
	newID    func() string
}

// NewIssuer returns an Issuer for cfg.
func NewIssuer(cfg IssuerConfig) *Issuer {
	i := &Issuer{iss: cfg.Issuer, aud: cfg.Audience, keys: cfg.Keys, now: cfg.Now, newID: cfg.NewID}
	if i.now == nil {
		i.now = time.Now
	}
	return i
}

// NewJTI returns a UUIDv7 (RFC 9562) whose 48-bit timestamp is at in Unix
// milliseconds and whose other bits are random. It carries the token's
// issue instant finer than iat's whole seconds: revocation cutoffs compare
// it (Claims.IssuedAtMilli), so a token minted just after a revoke-all is
// told apart from one minted just before.
func NewJTI(at time.Time) string {
	// Random bits from crypto/rand into an array that stays on the stack
	// (uuid.New reads through an interface, which moves it to the heap).
	var u uuid.UUID
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	ms := uint64(at.UnixMilli())
	u[0], u[1], u[2] = byte(ms>>40), byte(ms>>32), byte(ms>>24)
	u[3], u[4], u[5] = byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // variant RFC 4122 (9562)
	return u.String()
}

// ErrNoSigningKey is returned by Mint when the key ring has no active key.
var ErrNoSigningKey = errors.New("token: no active signing key")

// Mint fills the registered claims of c — iss, aud (a single string), iat
// and nbf (now), jti (NewID, by default NewJTI(now)) and exp (now+ttl; ttl
// <= 0 means no exp, which only registered kinds may have) — sets auth_time to
// now on an embed token that has none (a refresh passes the chain's on), forces
// readOnly for app-view tokens,
// validates the claims (Claims.Validate, ValidateParams, ValidatePolicies),
// and signs them with the active key, whose kid and alg go in the header.
// The clock is read once, in UTC, truncated to seconds. It returns the
// compact JWT and the final claims.
//
// A claims problem is an *apperr.Error with code invalid_request (wrapping
// ErrClaims where the claims themselves are wrong); a missing key or a
// misconfigured issuer is a plain error.
func (i *Issuer) Mint(c Claims, ttl time.Duration) (string, *Claims, error) {
	return i.mint(c, func(now time.Time) (time.Time, bool) {
		if ttl <= 0 {
			return time.Time{}, false
		}
		return now.Add(ttl).Truncate(time.Second), true
	})
}

// MintUntil is Mint with an absolute expiry: exp is exactly expiresAt
// (truncated to whole seconds), or absent when expiresAt is nil. Registered
// tokens use it so that exp equals their record's expiresAt to the second.
func (i *Issuer) MintUntil(c Claims, expiresAt *time.Time) (string, *Claims, error) {
	return i.mint(c, func(time.Time) (time.Time, bool) {
		if expiresAt == nil {
			return time.Time{}, false
		}
		return expiresAt.UTC().Truncate(time.Second), true
	})
}

// mint is Mint and MintUntil; expiry returns exp for the issue instant,
// false for none.
func (i *Issuer) mint(c Claims, expiry func(now time.Time) (time.Time, bool)) (string, *Claims, error) {
	if i.iss == "" || i.aud == "" {
		return "", nil, errors.New("token: issuer has no iss or aud configured")
	}
	if i.keys == nil {
		return "", nil, ErrNoSigningKey
	}
	key := i.keys.Active()
	if key == nil {
		return "", nil, ErrNoSigningKey
	}
	method := signingMethod(key.Alg)
	if method == nil {
		return "", nil, fmt.Errorf("token: active key has unsupported algorithm %q", key.Alg)
	}

	instant := i.now().UTC()
	now := instant.Truncate(time.Second)
	c.Issuer = i.iss
	c.Audience = jwt.ClaimStrings{i.aud}
	// iat, nbf, exp and auth_time in one allocation (jwt.NewNumericDate
	// would make one each); each claim has its own element.
	dates := new([4]jwt.NumericDate)
	c.IssuedAt = dateAt(&dates[0], now)
	c.NotBefore = dateAt(&dates[1], now)
	if i.newID != nil {
		c.ID = i.newID()
	} else {
		c.ID = NewJTI(instant)
	}
	c.ExpiresAt = nil
	if exp, ok := expiry(now); ok {
		if !exp.After(now) {
			return "", nil, &apperr.Error{Code: apperr.CodeInvalid, Field: "expiresAt",
				Message: "the expiry must be after the issue time", Err: fail(ErrClaims, "exp not after iat")}
		}
		c.ExpiresAt = dateAt(&dates[2], exp)
	} else if !c.Registered() {
		return "", nil, &apperr.Error{Code: apperr.CodeInvalid, Field: "tokenExpiry",
			Message: "an expiry is required for this token kind", Err: fail(ErrClaims, "missing exp")}
	}
	if c.Kind == KindAppView {
		c.ReadOnly = true
	}
	if c.Kind == KindEmbed && c.AuthTime == nil {
		c.AuthTime = dateAt(&dates[3], now) // a new refresh chain starts
	}
	// Params and policies first: their errors name the field.
	if err := ValidateParams(c.Params); err != nil {
		return "", nil, err
	}
	if err := ValidatePolicies(c.SecurityPolicies); err != nil {
		return "", nil, err
	}
	if err := c.Validate(); err != nil {
		return "", nil, &apperr.Error{Code: apperr.CodeInvalid, Message: "invalid token claims", Err: err}
	}

	raw, err := signJWT(method, key.KID, key.SigningKey(), &c)
	if err != nil {
		return "", nil, fmt.Errorf("token: sign with key %s: %w", key.KID, err)
	}
	if len(raw) > MaxTokenSize {
		return "", nil, &apperr.Error{Code: apperr.CodeInvalid,
			Message: fmt.Sprintf("the token would be %d bytes, more than %d", len(raw), MaxTokenSize),
			Err:     fail(ErrClaims, "token too large")}
	}
	return raw, &c, nil
}

// dateAt sets *d to what jwt.NewNumericDate(t) points to and returns d.
func dateAt(d *jwt.NumericDate, t time.Time) *jwt.NumericDate {
	*d = jwt.NumericDate{Time: t.Truncate(jwt.TimePrecision)}
	return d
}

// signingMethod returns golang-jwt's method for one of sigil's algorithms.
func signingMethod(alg string) jwt.SigningMethod {
	switch alg {
	case keys.EdDSA:
		return jwt.SigningMethodEdDSA
	case keys.ES256:
		return jwt.SigningMethodES256
	case keys.RS256:
		return jwt.SigningMethodRS256
	case keys.HS256:
		return jwt.SigningMethodHS256
	}
	return nil
}
