package authlimit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/authlimit"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// counter is a shared failure counter whose windows never end (the tests
// stay within one); fail makes every count fail.
type counter struct {
	mu     sync.Mutex
	counts map[string]int64
	fail   error
}

func (c *counter) CountFailure(_ context.Context, key string, _ time.Duration) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return 0, c.fail
	}
	if c.counts == nil {
		c.counts = map[string]int64{}
	}
	c.counts[key]++
	return c.counts[key], nil
}

func newLimiter(t *testing.T, ctr authlimit.Counter, now *time.Time) *authlimit.Limiter {
	t.Helper()
	l := authlimit.New(authlimit.Config{Counter: ctr, MaxFailures: 5, Window: time.Minute, Now: func() time.Time { return *now }})
	require.NotNil(t, l)
	return l
}

func TestNew_NilWithoutCounter(t *testing.T) {
	l := authlimit.New(authlimit.Config{})
	require.Nil(t, l)
	require.Zero(t, l.Blocked("192.0.2.1", "x"), "a nil Limiter limits nothing")
	require.Equal(t, authlimit.Failure{}, l.Failed(context.Background(), "192.0.2.1", "x"))
}

func TestLimiter_PairBlockedAtMax(t *testing.T) {
	now := epoch
	l := newLimiter(t, &counter{}, &now)
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		f := l.Failed(ctx, "192.0.2.1", "acme")
		require.False(t, f.Limited, "failure %d", i)
		require.Equal(t, int64(i), f.PairFailures)
		require.Zero(t, l.Blocked("192.0.2.1", "acme"))
	}
	f := l.Failed(ctx, "192.0.2.1", "acme")
	require.False(t, f.Limited, "the 5th failure is still a plain refusal")
	require.Equal(t, time.Minute, l.Blocked("192.0.2.1", "acme"), "but the pair is blocked from now")
	require.Zero(t, l.Blocked("192.0.2.2", "acme"), "another address is not")
	require.Zero(t, l.Blocked("192.0.2.1", "other"), "nor another id")

	f = l.Failed(ctx, "192.0.2.1", "acme")
	require.True(t, f.Limited)
	require.Equal(t, time.Minute, f.RetryAfter)

	now = now.Add(20 * time.Second)
	require.Equal(t, 40*time.Second, l.Blocked("192.0.2.1", "acme"))
	now = now.Add(40 * time.Second)
	require.Zero(t, l.Blocked("192.0.2.1", "acme"), "the block ends with its window")
}

// TestLimiter_HotID: while a client id is over the limit as a whole (a
// spray from many addresses), each pair is blocked at its third failure,
// not its first: the client's own typo does not lock it out.
func TestLimiter_HotID(t *testing.T) {
	now := epoch
	l := newLimiter(t, &counter{}, &now)
	ctx := context.Background()
	for i := range 6 {
		l.Failed(ctx, "198.51.100."+string(rune('1'+i)), "acme")
	}
	f := l.Failed(ctx, "192.0.2.1", "acme")
	require.True(t, f.Limited, "the id is hot: failures are limited")
	require.Equal(t, int64(7), f.ClientFailures)
	require.Zero(t, l.Blocked("192.0.2.1", "acme"), "one typo does not block the pair")
	l.Failed(ctx, "192.0.2.1", "acme")
	require.Zero(t, l.Blocked("192.0.2.1", "acme"))
	l.Failed(ctx, "192.0.2.1", "acme")
	require.Equal(t, time.Minute, l.Blocked("192.0.2.1", "acme"), "blocked at its third failure")
}

func TestLimiter_HotAddr(t *testing.T) {
	now := epoch
	l := newLimiter(t, &counter{}, &now)
	ctx := context.Background()
	for i := range 6 {
		l.Failed(ctx, "192.0.2.1", "id-"+string(rune('a'+i)))
	}
	f := l.Failed(ctx, "192.0.2.1", "acme")
	require.True(t, f.Limited, "the address sprays ids: failures are limited")
	require.Equal(t, int64(7), f.AddrFailures)
	require.Equal(t, "192.0.2.1", f.Addr)
}

func TestLimiter_ErrCounterDown(t *testing.T) {
	now := epoch
	l := newLimiter(t, &counter{fail: errors.New("store down")}, &now)
	for range 20 {
		f := l.Failed(context.Background(), "192.0.2.1", "acme")
		require.False(t, f.Limited, "an unwritable counter leaves failures plain refusals")
	}
	require.Zero(t, l.Blocked("192.0.2.1", "acme"))
}

// TestLimiter_IPv6Subnet: an IPv6 subscriber's /64 is one address.
func TestLimiter_IPv6Subnet(t *testing.T) {
	now := epoch
	l := newLimiter(t, &counter{}, &now)
	for i := range 5 {
		l.Failed(context.Background(), "2001:db8:1:2::"+string(rune('1'+i)), "acme")
	}
	require.Equal(t, time.Minute, l.Blocked("2001:db8:1:2:ffff::1", "acme"))
	require.Zero(t, l.Blocked("2001:db8:1:3::1", "acme"))
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"not-an-ip":            "not-an-ip",
	} {
		require.Equal(t, want, authlimit.AddrKey(in), in)
	}
}

// TestLimiter_LongIDsHashed: a long client id does not make a long key.
func TestLimiter_LongIDsHashed(t *testing.T) {
	now := epoch
	ctr := &counter{}
	l := newLimiter(t, ctr, &now)
	l.Failed(context.Background(), "192.0.2.1", strings.Repeat("x", 5000))
	for k := range ctr.counts {
		require.Less(t, len(k), 200, k)
	}
}
