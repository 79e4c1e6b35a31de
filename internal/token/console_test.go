package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// TestVerifier_ConsoleKindsApart: a console verifier accepts console
// tokens only, any other verifier none, whatever the audience says: a
// console token minted (by mistake or with a leaked key) with the main
// audience is still refused by forward-auth's verifier, and an embed
// token with the console audience is no console token. The console
// token's lifetime is bounded like an embed token's.
func TestVerifier_ConsoleKindsApart(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, keys.EdDSA, "main")
	ring := newRing(k)
	clk := newClock()
	const consoleAud = testAudience + "#console"
	mint := func(aud string, c token.Claims, ttl time.Duration) string {
		raw, _, err := token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: aud, Keys: ring, Now: clk.Now}).Mint(c, ttl)
		require.NoError(t, err)
		return raw
	}
	main := token.NewVerifier(token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: ring, Now: clk.Now})
	console := token.NewVerifier(token.VerifierConfig{Issuer: testIssuer, Audience: consoleAud, Keys: ring, Now: clk.Now, Console: true, ConsoleMaxLifetime: time.Hour})
	consoleClaims := token.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "alice"}, Kind: token.KindConsole, ClientID: "host"}

	t.Run("OK", func(t *testing.T) {
		c, err := console.Verify(ctx, mint(consoleAud, consoleClaims, 10*time.Minute))
		require.NoError(t, err)
		require.Equal(t, "alice", c.Subject)
	})
	t.Run("ErrConsoleTokenAtMainVerifier", func(t *testing.T) {
		for _, aud := range []string{testAudience, consoleAud} {
			_, err := main.Verify(ctx, mint(aud, consoleClaims, 10*time.Minute))
			require.ErrorIs(t, err, token.ErrInvalidToken, aud)
			_, err = main.VerifyIgnoringExpiry(ctx, mint(aud, consoleClaims, 10*time.Minute))
			require.ErrorIs(t, err, token.ErrInvalidToken, aud)
		}
		_, err := main.Verify(ctx, mint(testAudience, consoleClaims, 10*time.Minute))
		require.ErrorIs(t, err, token.ErrClaims, "refused on its kind even with the main audience")
	})
	t.Run("ErrOtherKindAtConsoleVerifier", func(t *testing.T) {
		_, err := console.Verify(ctx, mint(consoleAud, embedClaims(), 10*time.Minute))
		require.ErrorIs(t, err, token.ErrClaims)
		_, err = console.Verify(ctx, mint(testAudience, consoleClaims, 10*time.Minute))
		require.ErrorIs(t, err, token.ErrAudience)
	})
	t.Run("ErrOverlong", func(t *testing.T) {
		_, err := console.Verify(ctx, mint(consoleAud, consoleClaims, 2*time.Hour))
		require.ErrorIs(t, err, token.ErrClaims)
	})
	t.Run("ErrNoOwner", func(t *testing.T) {
		_, _, err := token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: consoleAud, Keys: ring, Now: clk.Now}).
			Mint(token.Claims{Kind: token.KindConsole, ClientID: "host"}, time.Minute)
		require.Error(t, err, "a console token without sub is not minted")
	})
}
