package token_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

func decodePayload(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3)
	b, err := b64.DecodeString(parts[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func TestIssuer_Mint(t *testing.T) {
	ed := testKey(t, keys.EdDSA, "main")

	t.Run("OK/overwrites registered claims and reads the clock once", func(t *testing.T) {
		calls := 0
		berlin := time.FixedZone("CEST", 2*3600)
		now := func() time.Time { calls++; return epoch.In(berlin).Add(750 * time.Millisecond) }
		iss := token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: newRing(ed), Now: now, NewID: func() string { return "fixed-jti" }})
		c := embedClaims()
		c.Issuer, c.ID, c.Audience = "forged", "caller-jti", jwt.ClaimStrings{"x", "y"}
		c.ExpiresAt = jwt.NewNumericDate(epoch.Add(1000 * time.Hour))
		raw, got, err := iss.Mint(c, 90*time.Minute+500*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, 1, calls)
		require.Equal(t, testIssuer, got.Issuer)
		require.Equal(t, jwt.ClaimStrings{testAudience}, got.Audience)
		require.Equal(t, "fixed-jti", got.ID)
		require.Equal(t, epoch, got.IssuedAt.Time)
		require.Equal(t, epoch, got.NotBefore.Time)
		require.Equal(t, epoch.Add(90*time.Minute), got.ExpiresAt.Time)
		require.Equal(t, time.UTC, got.IssuedAt.Location())

		m := decodePayload(t, raw)
		require.Equal(t, testAudience, m["aud"])
		require.Equal(t, float64(epoch.Unix()), m["iat"])
		require.Equal(t, float64(epoch.Add(90*time.Minute).Unix()), m["exp"])
		require.Equal(t, "embed", m["tt"])
	})

	t.Run("OK/registered kind without exp", func(t *testing.T) {
		f := newFixture(t, ed)
		raw, got := f.mint(t, token.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "owner"}, Kind: token.KindAPI, Scope: "meta:read", TID: "rec-1"}, 0)
		require.Nil(t, got.ExpiresAt)
		require.NotContains(t, decodePayload(t, raw), "exp")
	})

	t.Run("OK/app-view is always read-only", func(t *testing.T) {
		f := newFixture(t, ed)
		raw, got := f.mint(t, token.Claims{Kind: token.KindAppView, AppID: "analytics", ReadOnly: false, TID: "rec-1"}, time.Hour)
		require.True(t, got.ReadOnly)
		require.Equal(t, true, decodePayload(t, raw)["readOnly"])
	})

	t.Run("OK/largest token verifies", func(t *testing.T) {
		// base64 skips some lengths, so vary the kid's length too.
		var raw string
		var ring *keyRing
		for pad := ""; len(pad) < 4 && len(raw) != token.MaxTokenSize; pad += "x" {
			k := *ed
			k.KID += pad
			ring = newRing(&k)
			iss := token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: ring, Now: newClock().Now})
			for n := 5500; n < 5800 && len(raw) != token.MaxTokenSize; n++ {
				c := embedClaims()
				c.SecurityPolicies = []token.Policy{{Name: "p", Params: map[string]any{"v": strings.Repeat("x", n)}}}
				if r, _, err := iss.Mint(c, time.Hour); err == nil {
					raw = r
				}
			}
		}
		require.Equal(t, token.MaxTokenSize, len(raw))
		v := token.NewVerifier(token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: ring, Now: newClock().Now})
		_, err := v.Verify(context.Background(), raw)
		require.NoError(t, err)
	})

	tests := []struct {
		name   string
		claims token.Claims
		ttl    time.Duration
		cfg    func(*token.IssuerConfig)
		field  string // for an *apperr.Error naming a field
		plain  bool   // not an *apperr.Error (a server-side failure)
		is     error
	}{
		{name: "ErrClaims/embed without ttl", claims: embedClaims(), ttl: 0, field: "tokenExpiry", is: token.ErrClaims},
		{name: "ErrClaims/embed with negative ttl", claims: embedClaims(), ttl: -time.Second, field: "tokenExpiry", is: token.ErrClaims},
		{name: "ErrClaims/missing binding claim", claims: token.Claims{Kind: token.KindReport}, ttl: time.Hour, is: token.ErrClaims},
		{name: "ErrClaims/unknown kind", claims: token.Claims{Kind: "admin"}, ttl: time.Hour, is: token.ErrClaims},
		{name: "ErrParams/bad locale", claims: func() token.Claims {
			c := embedClaims()
			c.Params = map[string]any{"locale": "und"}
			return c
		}(), ttl: time.Hour, field: "params.locale"},
		{name: "ErrPolicies/missing name", claims: func() token.Claims {
			c := embedClaims()
			c.SecurityPolicies = []token.Policy{{}}
			return c
		}(), ttl: time.Hour, field: "securityPolicies[0].name"},
		{name: "ErrTooLarge", claims: func() token.Claims {
			c := embedClaims()
			c.SecurityPolicies = []token.Policy{{Name: "p", Params: map[string]any{"v": strings.Repeat("x", 7000)}}}
			return c
		}(), ttl: time.Hour, is: token.ErrClaims},
		{name: "ErrNoSigningKey", claims: embedClaims(), ttl: time.Hour, cfg: func(c *token.IssuerConfig) { c.Keys = newRing(nil) }, plain: true, is: token.ErrNoSigningKey},
		{name: "ErrNoSigningKey/nil keys", claims: embedClaims(), ttl: time.Hour, cfg: func(c *token.IssuerConfig) { c.Keys = nil }, plain: true, is: token.ErrNoSigningKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: newRing(ed), Now: newClock().Now}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			raw, got, err := token.NewIssuer(cfg).Mint(tc.claims, tc.ttl)
			require.Error(t, err)
			require.Empty(t, raw)
			require.Nil(t, got)
			ae, ok := apperr.As(err)
			require.Equal(t, !tc.plain, ok, "apperr: %v", err)
			if ok {
				require.Equal(t, apperr.CodeInvalid, ae.Code)
				require.Equal(t, tc.field, ae.Field)
			}
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
		})
	}
}
