package revocation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestPipeline_Ledger runs the whole pipeline of two instances sharing one
// Redis — minting, cached verification, invalidation, revoke-all, replica
// resyncs and key reloads — concurrently (run with -race). The ledger holds
// every acknowledged revocation: instance A must reject each of them from
// the moment it was acknowledged, and instance B within the propagation bound.
func TestPipeline_Ledger(t *testing.T) {
	srv := redisserver.Start(t)
	ctx := context.Background()

	var signers []*keys.Key
	for _, alg := range []string{keys.EdDSA, keys.ES256} {
		s, err := keys.Generate(alg)
		require.NoError(t, err)
		_, k, err := keys.WritePEM(t.TempDir(), s)
		require.NoError(t, err)
		signers = append(signers, k)
	}
	var flip atomic.Int64
	ring, err := keys.NewRing(func() (*keys.Set, error) {
		return keys.NewSet(signers, signers[flip.Add(1)%2].KID)
	})
	require.NoError(t, err)

	newInstance := func(resync time.Duration) (*revocation.Replica, *token.Verifier) {
		rep := startReplica(t, newStore(t, srv, "pl:"), func(c *revocation.ReplicaConfig) { c.ResyncInterval = resync })
		v := token.NewVerifier(token.VerifierConfig{
			Issuer: "https://sigil.test", Audience: "sigil", Keys: ring, Revocation: rep, CacheSize: 1000,
		})
		return rep, v
	}
	repA, verA := newInstance(40 * time.Millisecond)
	_, verB := newInstance(60 * time.Millisecond)
	iss := token.NewIssuer(token.IssuerConfig{Issuer: "https://sigil.test", Audience: "sigil", Keys: ring})

	type entry struct{ raw, id string }
	var (
		mu     sync.Mutex
		ledger []entry
	)
	var violations, checked atomic.Int64
	stop := make(chan struct{})
	var bg sync.WaitGroup
	background := func(fn func()) {
		bg.Add(1)
		go func() {
			defer bg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					fn()
				}
			}
		}()
	}
	background(func() { // verifiers of acknowledged revocations on A
		mu.Lock()
		acked := append([]entry(nil), ledger...)
		mu.Unlock()
		for _, e := range acked {
			checked.Add(1)
			if _, err := verA.Verify(ctx, e.raw); !errors.Is(err, token.ErrRevoked) {
				violations.Add(1)
				t.Errorf("A accepted %s after its revocation was acknowledged: %v", e.id, err)
			}
		}
	})
	background(func() { // key reloads, alternating the signing key
		require.NoError(t, ring.Reload())
		time.Sleep(5 * time.Millisecond)
	})
	background(func() { // resyncs on demand, on top of the periodic ones
		require.NoError(t, repA.Sync(ctx))
		time.Sleep(10 * time.Millisecond)
	})

	var writers sync.WaitGroup
	for w := 0; w < 4; w++ {
		writers.Add(1)
		go func(w int) {
			defer writers.Done()
			for i := 0; i < 40; i++ {
				c := token.Claims{Kind: token.KindEmbed, DashboardID: "d", ClientID: "c"}
				c.Subject = fmt.Sprintf("user-%d-%d", w, i)
				raw, minted, err := iss.Mint(c, time.Hour)
				require.NoError(t, err)
				// Live before revocation, on both instances (warming their caches).
				_, err = verA.Verify(ctx, raw)
				require.NoError(t, err)
				_, err = verB.Verify(ctx, raw)
				require.NoError(t, err)
				if i%8 == 0 {
					// Revoke-all cuts off everything of this subject issued
					// at or before now, this token included.
					_, err = repA.RevokeAll(ctx, revocation.Cutoff{Dim: revocation.DimSubject, ID: c.Subject})
				} else {
					var got *token.Claims
					got, err = verA.VerifyIgnoringExpiry(ctx, raw)
					require.NoError(t, err)
					err = repA.Revoke(ctx, got)
				}
				require.NoError(t, err)
				mu.Lock()
				ledger = append(ledger, entry{raw, minted.ID})
				mu.Unlock()
			}
		}(w)
	}
	writers.Wait()
	close(stop)
	bg.Wait()

	require.Zero(t, violations.Load())
	require.Positive(t, checked.Load(), "the ledger was actually checked while writes went on")
	require.Len(t, ledger, 160)
	var worst time.Duration
	for _, e := range ledger {
		d := eventually(t, "B rejects "+e.id, func() bool {
			_, err := verB.Verify(ctx, e.raw)
			return errors.Is(err, token.ErrRevoked)
		})
		worst = max(worst, d)
	}
	t.Logf("ledger: %d revocations, %d checks on A, worst extra wait on B after the run: %s", len(ledger), checked.Load(), worst)
}
