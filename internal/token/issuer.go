package token

import (
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
	// NewID mints jti values; nil means uuid.NewString.
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
	if i.newID == nil {
		i.newID = uuid.NewString
	}
	return i
}

// ErrNoSigningKey is returned by Mint when the key ring has no active key.
var ErrNoSigningKey = errors.New("token: no active signing key")

// Mint fills the registered claims of c — iss, aud (a single string), iat
// and nbf (now), jti (NewID) and exp (now+ttl; ttl <= 0 means no exp, which
// only registered kinds may have) — forces readOnly for app-view tokens,
// validates the claims (Claims.Validate, ValidateParams, ValidatePolicies),
// and signs them with the active key, whose kid and alg go in the header.
// The clock is read once, in UTC, truncated to seconds. It returns the
// compact JWT and the final claims.
//
// A claims problem is an *apperr.Error with code invalid_request (wrapping
// ErrClaims where the claims themselves are wrong); a missing key or a
// misconfigured issuer is a plain error.
func (i *Issuer) Mint(c Claims, ttl time.Duration) (string, *Claims, error) {
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

	now := i.now().UTC().Truncate(time.Second)
	c.Issuer = i.iss
	c.Audience = jwt.ClaimStrings{i.aud}
	c.IssuedAt = jwt.NewNumericDate(now)
	c.NotBefore = jwt.NewNumericDate(now)
	c.ID = i.newID()
	c.ExpiresAt = nil
	if ttl > 0 {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl).Truncate(time.Second))
	} else if !c.Registered() {
		return "", nil, &apperr.Error{Code: apperr.CodeInvalid, Field: "tokenExpiry",
			Message: "an expiry is required for this token kind", Err: fail(ErrClaims, "missing exp")}
	}
	if c.Kind == KindAppView {
		c.ReadOnly = true
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

	t := jwt.NewWithClaims(method, &c)
	t.Header["kid"] = key.KID
	raw, err := t.SignedString(key.SigningKey())
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
