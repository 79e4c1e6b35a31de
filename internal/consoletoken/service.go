package consoletoken

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/token"
)

// Minter signs console tokens; a token.Issuer configured with the console
// audience satisfies it.
type Minter interface {
	Mint(c token.Claims, ttl time.Duration) (string, *token.Claims, error)
}

// Verifier runs the verification pipeline of console tokens; a
// token.Verifier with VerifierConfig.Console and the console audience
// satisfies it.
type Verifier interface {
	// Verify returns the claims of a live console token, or an error
	// wrapping token.ErrInvalidToken (or a store failure).
	Verify(ctx context.Context, raw string) (*token.Claims, error)
	// VerifyIgnoringExpiry checks everything but expiry and revocation.
	VerifyIgnoringExpiry(ctx context.Context, raw string) (*token.Claims, error)
}

// Revoker denies a token's jti until its exp (logout).
type Revoker interface {
	Revoke(ctx context.Context, c *token.Claims) error
}

// Clients reads the client that minted a token; clients.ErrNotFound when
// it is gone.
type Clients interface {
	Get(ctx context.Context, id string) (clients.Client, error)
}

var (
	_ Minter   = (*token.Issuer)(nil)
	_ Verifier = (*token.Verifier)(nil)
	_ Clients  = (*clients.Service)(nil)
)

// Lifetimes of a console token.
const (
	// DefaultTTL is the lifetime of a console token whose request names none.
	DefaultTTL = 10 * time.Minute
	// MinTTL is the shortest lifetime one may ask for.
	MinTTL = time.Minute
)

// AudienceSuffix is appended to the deployment's audience to make the
// console tokens' own aud: a verifier of sigil's other tokens, sigil's own
// or a third party's reading the JWKS, refuses a console token on its
// audience before it looks at the kind.
const AudienceSuffix = "#console"

// Audience returns the aud of console tokens for a deployment whose
// tokens carry aud.
func Audience(aud string) string { return aud + AudienceSuffix }

// Config configures a Service.
type Config struct {
	Minter   Minter
	Verifier Verifier
	Revoker  Revoker
	Clients  Clients
	// MaxTTL is the longest lifetime a console token may be asked for
	// (console.token_max_ttl; default token.DefaultConsoleMaxLifetime).
	MaxTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service mints console tokens for clients and turns a presented one back
// into the registry caller it stands for. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns a Service; Minter, Verifier, Revoker and Clients are required.
func New(cfg Config) (*Service, error) {
	if cfg.Minter == nil || cfg.Verifier == nil || cfg.Revoker == nil || cfg.Clients == nil {
		return nil, errors.New("consoletoken: Minter, Verifier, Revoker and Clients are required")
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = token.DefaultConsoleMaxLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// MaxTTL is the longest lifetime a console token may be asked for.
func (s *Service) MaxTTL() time.Duration { return s.cfg.MaxTTL }

// Issued is a minted console token and its expiry.
type Issued struct {
	Token     string
	ExpiresAt time.Time
}

// resource is what a console token for owner acts on.
func resource(owner string) string { return "api:" + owner }

// SecretTag is the cst claim of a console token minted by cl: a digest of
// cl's stored secret hash, which changes when the secret does (rotation,
// or a client re-created under the same id). It discloses nothing of the
// secret (a truncated SHA-256 of an HMAC of 256 random bits).
func SecretTag(cl clients.Client) string {
	sum := sha256.Sum256(append([]byte("sigil console token secret tag v1:"), cl.SecretHash...))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Mint signs a console token for owner that lives ttl (DefaultTTL when 0).
// The caller must be an API client that may act on "api:<owner>" (a
// forbidden error naming owner otherwise); a console caller may not mint
// (forbidden). cl is the client record whose secret the caller presented:
// the token carries its SecretTag, so it dies with that secret, even when
// the record was a cached copy older than a rotation made elsewhere.
// Errors are *apperr.Error naming the field.
func (s *Service) Mint(_ context.Context, caller registry.Caller, cl clients.Client, owner string, ttl time.Duration) (Issued, error) {
	if caller.Owner != "" {
		return Issued{}, apperr.New(apperr.CodeForbidden, "a console token cannot mint console tokens")
	}
	if owner == "" {
		return Issued{}, apperr.Invalid("owner", "an owner is required")
	}
	if len(owner) > registry.MaxIDLen {
		return Issued{}, apperr.Invalid("owner", "must be at most %d characters", registry.MaxIDLen)
	}
	if err := token.CheckHeaderSafe("owner", owner); err != nil {
		return Issued{}, err
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < MinTTL || ttl > s.cfg.MaxTTL || ttl%time.Second != 0 {
		return Issued{}, apperr.Invalid("ttl", "must be whole seconds between %s and %s", MinTTL, s.cfg.MaxTTL)
	}
	if caller.ID == "" || caller.ID != cl.ID || !caller.CanActOn(resource(owner)) {
		return Issued{}, &apperr.Error{Code: apperr.CodeForbidden, Field: "owner",
			Message: "this client may not act on " + resource(owner)}
	}
	raw, c, err := s.cfg.Minter.Mint(token.Claims{
		RegisteredClaims: jwtSubject(owner), Kind: token.KindConsole, ClientID: caller.ID,
		SecretTag: SecretTag(cl),
	}, ttl)
	if err != nil {
		return Issued{}, fmt.Errorf("mint console token: %w", err)
	}
	return Issued{Token: raw, ExpiresAt: c.ExpiresAt.UTC()}, nil
}

// ErrClientGone is the rejection of a console token whose client was
// deleted, lost the owner from its resources, or rotated its secret after
// the token was minted: it wraps token.ErrRevoked.
var ErrClientGone = fmt.Errorf("the client that minted this console token changed: %w", token.ErrRevoked)

// Authenticate verifies a presented console token and returns the caller
// it stands for: the minting client, allowed nothing but "api:<owner>"
// and only while the client itself still is. A token that is not a live
// console token wraps token.ErrInvalidToken; a deleted client, one that
// no longer may act on the owner or that rotated its secret since, is
// ErrClientGone (also an invalid token); store failures are returned as
// they are.
func (s *Service) Authenticate(ctx context.Context, raw string) (registry.Caller, error) {
	c, err := s.cfg.Verifier.Verify(ctx, raw)
	if err != nil {
		return registry.Caller{}, err
	}
	cl, err := s.cfg.Clients.Get(ctx, c.ClientID)
	switch {
	case errors.Is(err, clients.ErrNotFound):
		return registry.Caller{}, ErrClientGone
	case err != nil:
		return registry.Caller{}, fmt.Errorf("console token: read client: %w", err)
	}
	owner := c.Subject
	res := resource(owner)
	if !cl.Allows(res) {
		return registry.Caller{}, ErrClientGone
	}
	// The secret the token was minted with must still be the client's: an
	// exact comparison with the record just read from the store (never a
	// cache), not a time, so that a rotation in the same second as the mint,
	// or a mint with the old secret on an instance whose cached copy of the
	// client predates the rotation, leaves no token alive.
	if c.SecretTag == "" || !hmac.Equal([]byte(c.SecretTag), []byte(SecretTag(cl))) {
		return registry.Caller{}, ErrClientGone
	}
	return registry.Caller{
		ID:    cl.ID,
		Owner: owner,
		// Never Admin, whatever the client: the token's one owner only.
		Allows: func(r string) bool { return r == res && cl.Allows(r) },
	}, nil
}

// Invalidate denies a genuine console token until its exp (logout); an
// expired or already denied one is fine (nil), a forged one is an error
// wrapping token.ErrInvalidToken.
func (s *Service) Invalidate(ctx context.Context, raw string) error {
	c, err := s.cfg.Verifier.VerifyIgnoringExpiry(ctx, raw)
	if err != nil {
		return err
	}
	return s.cfg.Revoker.Revoke(ctx, c)
}

func jwtSubject(owner string) jwt.RegisteredClaims { return jwt.RegisteredClaims{Subject: owner} }
