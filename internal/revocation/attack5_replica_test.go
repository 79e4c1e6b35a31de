package revocation_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

type attack5Keys struct{ k *keys.Key }

func (r attack5Keys) Active() *keys.Key { return r.k }
func (r attack5Keys) Lookup(kid string) (*keys.Key, bool) {
	return r.k, kid == r.k.KID
}

// TestAttack5_CachedTokensRefusedAfterCutoffsFromB: instance A verifies
// through a token.Verifier whose cache holds the tokens (so every check is
// CheckMemo with a memo whose cutoff count was recorded) and a revocation
// replica on a real Redis; instance B writes. Goroutines verify every
// token on A all the time (run with -race) while B issues, for each target
// token, unrelated cutoffs (other ids of the same dimensions) and then the
// one that covers it: a subject, a client, a dashboard, client+subject,
// client+resource cutoff, and a jti denial. Once A's replica holds a
// covering entry (polled through Check with the claims, never a sleep as
// assertion), every later use of that token on A is refused; the token
// no cutoff covers is never refused.
func TestAttack5_CachedTokensRefusedAfterCutoffsFromB(t *testing.T) {
	srv := redisserver.Start(t)
	ctx := context.Background()
	a := startReplica(t, newStore(t, srv, "a5:"))
	b := startReplica(t, newStore(t, srv, "a5:"))
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ks := attack5Keys{&keys.Key{KID: "a5", Alg: keys.EdDSA, Signer: priv, Public: pub, CreatedAt: time.Now()}}
	const iss, aud = "https://a5.test", "a5"
	issuer := token.NewIssuer(token.IssuerConfig{Issuer: iss, Audience: aud, Keys: ks})
	v := token.NewVerifier(token.VerifierConfig{Issuer: iss, Audience: aud, Keys: ks, CacheSize: 1000, Revocation: a})

	type target struct {
		name   string
		sub    string
		client string
		dash   string
		unrel  []revocation.Cutoff // unrelated cutoffs issued first
		revoke func(c *token.Claims) error
	}
	cutoff := func(cut revocation.Cutoff) func(*token.Claims) error {
		return func(*token.Claims) error { _, err := b.RevokeAll(ctx, cut); return err }
	}
	targets := []target{
		{"Subject", "a5-sub", "a5-c1", "a5-d1",
			[]revocation.Cutoff{{Dim: revocation.DimSubject, ID: "a5-sub-other"}, {Dim: revocation.DimSubject, ID: "A5-SUB"}},
			cutoff(revocation.Cutoff{Dim: revocation.DimSubject, ID: "a5-sub"})},
		{"Client", "a5-u2", "a5-client", "a5-d2",
			[]revocation.Cutoff{{Dim: revocation.DimClient, ID: "a5-client-x"}, {Dim: revocation.DimDashboard, ID: "a5-client"}},
			cutoff(revocation.Cutoff{Dim: revocation.DimClient, ID: "a5-client"})},
		{"Dashboard", "a5-u3", "a5-c3", "a5-dash",
			[]revocation.Cutoff{{Dim: revocation.DimDashboard, ID: "a5-dash2"}, {Dim: revocation.DimApp, ID: "a5-dash"}, {Dim: revocation.DimReport, ID: "a5-dash"}},
			cutoff(revocation.Cutoff{Dim: revocation.DimDashboard, ID: "a5-dash"})},
		{"ClientSubject", "a5-cs-sub", "a5-cs-client", "a5-d4",
			[]revocation.Cutoff{revocation.ClientSubject("a5-other-client", "a5-cs-sub"), revocation.ClientSubject("a5-cs-client", "a5-other-sub")},
			cutoff(revocation.ClientSubject("a5-cs-client", "a5-cs-sub"))},
		{"ClientResource", "a5-u5", "a5-cr-client", "a5-cr-dash",
			[]revocation.Cutoff{
				revocation.ClientResource("a5-other", revocation.Cutoff{Dim: revocation.DimDashboard, ID: "a5-cr-dash"}),
				revocation.ClientResource("a5-cr-client", revocation.Cutoff{Dim: revocation.DimApp, ID: "a5-cr-dash"}),
			},
			cutoff(revocation.ClientResource("a5-cr-client", revocation.Cutoff{Dim: revocation.DimDashboard, ID: "a5-cr-dash"}))},
		{"Jti", "a5-u6", "a5-c6", "a5-d6",
			[]revocation.Cutoff{{Dim: revocation.DimSubject, ID: "a5-u6x"}},
			func(c *token.Claims) error { return b.Revoke(ctx, c) }},
	}
	mint := func(sub, client, dash string) (string, *token.Claims) {
		raw, _, err := issuer.Mint(token.Claims{
			RegisteredClaims: jwt.RegisteredClaims{Subject: sub}, Kind: token.KindEmbed,
			Scope: "dashboard:view", ClientID: client, DashboardID: dash,
		}, 10*time.Minute)
		require.NoError(t, err)
		c, err := v.Verify(ctx, raw) // cached from here on
		require.NoError(t, err)
		return raw, c
	}
	raws := make([]string, len(targets)+1)
	cls := make([]*token.Claims, len(targets)+1)
	for i, tg := range targets {
		raws[i], cls[i] = mint(tg.sub, tg.client, tg.dash)
	}
	survivor := len(targets)
	raws[survivor], cls[survivor] = mint("a5-survivor", "a5-survivor", "a5-survivor")
	// Cutoffs carry the writer's clock to the millisecond: the tokens must
	// have been issued strictly before (iat is in seconds).
	for time.Now().Unix() == cls[survivor].IssuedAt.Unix() {
		time.Sleep(10 * time.Millisecond) // not an assertion: lets the second turn
	}

	cut := make([]atomic.Bool, len(raws)) // set once A's replica holds the covering entry
	var stop atomic.Bool
	var wg sync.WaitGroup
	var uses atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for i := g; !stop.Load(); i++ {
				j := i % len(raws)
				known := cut[j].Load()
				c, err := v.Verify(ctx, raws[j])
				uses.Add(1)
				switch {
				case j == survivor && err != nil:
					t.Errorf("the uncovered token was refused: %v", err)
					return
				case known && err == nil:
					t.Errorf("%s: a cached token was accepted after A held its revocation", targets[j].name)
					return
				case err != nil && !errors.Is(err, token.ErrRevoked):
					t.Errorf("token %d: %v", j, err)
					return
				case err == nil && c.ID != cls[j].ID:
					t.Errorf("token %d got another token's claims", j)
					return
				}
			}
		})
	}
	wantCuts := 0
	for i, tg := range targets {
		for _, u := range tg.unrel {
			_, err := b.RevokeAll(ctx, u)
			require.NoError(t, err)
		}
		// The unrelated ones reach A (its count of cutoffs: every key is new)...
		wantCuts += len(tg.unrel)
		eventually(t, tg.name+": unrelated cutoffs reach A", func() bool { _, n := a.Size(); return n == wantCuts })
		// ...and leave the cached token alive.
		_, err := v.Verify(ctx, raws[i])
		require.NoError(t, err, "%s: unrelated cutoffs", tg.name)
		require.NoError(t, tg.revoke(cls[i]))
		eventually(t, tg.name+": A's replica holds the revocation", func() bool { return errors.Is(a.Check(ctx, cls[i]), token.ErrRevoked) })
		cut[i].Store(true)
		if tg.name != "Jti" {
			wantCuts++
		}
		_, err = v.Verify(ctx, raws[i])
		require.ErrorIs(t, err, token.ErrRevoked, "%s: next use on A", tg.name)
	}
	stop.Store(true)
	wg.Wait()
	require.Greater(t, uses.Load(), int64(len(raws)), "the goroutines ran")
	for i := range targets {
		_, err := v.Verify(ctx, raws[i])
		require.ErrorIs(t, err, token.ErrRevoked, targets[i].name)
	}
	_, memo, err := v.VerifyMemo(ctx, raws[survivor])
	require.NoError(t, err)
	require.NotNil(t, memo, "cached: checks went through CheckMemo")
}
