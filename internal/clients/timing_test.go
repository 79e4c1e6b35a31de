package clients_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/store/memory"
)

// countingStore counts client reads.
type countingStore struct {
	clients.Store
	reads atomic.Int64
}

func (c *countingStore) GetClient(ctx context.Context, id string) (clients.Client, error) {
	c.reads.Add(1)
	return c.Store.GetClient(ctx, id)
}

// An attacker probing client ids must not tell an unknown id from a known
// one with a wrong secret by how long the answer takes: both paths do one
// secret comparison (the unknown id against a dummy hash of the same
// length) and the same store work (both answered from the cache after the
// first read). No timing is measured: the work is counted.
func TestService_UnknownIDDoesTheSameWorkAsWrongSecret(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := &countingStore{Store: memory.New(clock)}
	svc := clients.NewService(clients.ServiceConfig{Store: st, Pepper: pepper, MaxTokenExpiry: 60, Now: clock,
		CacheTTL: 10 * time.Second, StaleTTL: time.Minute})
	_, secret, err := svc.Create(ctx, clients.NewClient{ID: "sales"})
	require.NoError(t, err)
	var compares []int
	svc.OnCompare(func(want []byte) { compares = append(compares, len(want)) })

	work := func(id, secret string) (reads int64, cmp []int) {
		t.Helper()
		st.reads.Store(0)
		compares = nil
		for range 50 {
			_, err := svc.Authenticate(ctx, id, secret)
			require.ErrorIs(t, err, clients.ErrBadCredentials)
		}
		return st.reads.Load(), compares
	}
	knownReads, knownCmp := work("sales", secret+"x")
	unknownReads, unknownCmp := work("nobody", secret)
	require.Equal(t, knownReads, unknownReads, "store reads: known id with a wrong secret vs unknown id")
	require.Equal(t, knownCmp, unknownCmp, "secret comparisons (hash lengths)")
	require.Len(t, knownCmp, 50, "one comparison per attempt")
	require.LessOrEqual(t, unknownReads, int64(1), "after the first read both are answered from the cache")

	t.Run("OK/CreatedAfterProbeAuthenticatesAtOnce", func(t *testing.T) {
		_, err := svc.Authenticate(ctx, "later", "x")
		require.ErrorIs(t, err, clients.ErrBadCredentials)
		_, s, err := svc.Create(ctx, clients.NewClient{ID: "later"})
		require.NoError(t, err)
		_, err = svc.Authenticate(ctx, "later", s)
		require.NoError(t, err, "an id cached as unknown is forgotten when created here")
	})
	t.Run("OK/MadeUpLongIDsAreNeitherReadNorCached", func(t *testing.T) {
		// An id no client can have (too long, other characters): a caller
		// sending 20 KB ids must not fill the cache or reach the store, and
		// still costs one comparison, as any other failed attempt.
		before := svc.CachedIDs()
		st.reads.Store(0)
		compares = nil
		for i := range 500 {
			id := strings.Repeat("x", 20_000) + strconv.Itoa(i)
			_, err := svc.Authenticate(ctx, id, secret)
			require.ErrorIs(t, err, clients.ErrBadCredentials)
			_, err = svc.Authenticate(ctx, "bad id "+strconv.Itoa(i), secret)
			require.ErrorIs(t, err, clients.ErrBadCredentials)
		}
		require.Equal(t, before, svc.CachedIDs(), "cached ids")
		require.Zero(t, st.reads.Load(), "store reads")
		require.Len(t, compares, 1000, "one comparison per attempt")
	})
	t.Run("OK/RandomIDsStayBounded", func(t *testing.T) {
		// Far more random ids than the cache keeps: it must keep working
		// (and, by construction, forget them in bulk).
		for i := range 25_000 {
			_, err := svc.Authenticate(ctx, fmt.Sprintf("probe-%d", i), "x")
			require.ErrorIs(t, err, clients.ErrBadCredentials)
		}
		_, err := svc.Authenticate(ctx, "sales", secret)
		require.NoError(t, err)
	})
}
