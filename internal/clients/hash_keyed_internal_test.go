package clients

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompareMatchesHMAC: compare (pooled hash states, no allocation)
// accepts exactly crypto/hmac's HMAC-SHA-256 of the secret under the
// pepper, for peppers around SHA-256's block and secrets of every length
// around the scratch buffer's, and refuses a hash one bit off, another
// pepper's hash and a hash of another length; also from many goroutines
// at once, each with its own secret (go test -race: a pooled scratch is
// never shared).
func TestCompareMatchesHMAC(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 23))
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	want := func(pepper []byte, secret string) []byte {
		m := hmac.New(sha256.New, pepper)
		m.Write([]byte(secret))
		return m.Sum(nil)
	}
	for _, plen := range []int{0, 1, 32, 64, 65, 300} {
		pepper := bytesOf(plen)
		s := NewService(ServiceConfig{Pepper: pepper})
		require.NotNil(t, s.keyed, "SHA-256 saves its state in Go's library: the pooled path must be taken")
		other := NewService(ServiceConfig{Pepper: append(append([]byte{}, pepper...), 'x')})
		for _, n := range []int{0, 1, 43, 64, 127, 128, 129, 255, 256, 257, 1000} {
			secret := string(bytesOf(n))
			w := want(pepper, secret)
			require.True(t, s.compare(secret, w), "pepper %d, secret %d", plen, n)
			for i := range w {
				bad := append([]byte{}, w...)
				bad[i] ^= 1 << (i % 8)
				require.False(t, s.compare(secret, bad), "pepper %d, secret %d, byte %d off", plen, n, i)
			}
			require.False(t, s.compare(secret, w[:31]))
			require.False(t, s.compare(secret, append(append([]byte{}, w...), 0)))
			require.False(t, other.compare(secret, w), "another pepper")
			if n > 0 {
				require.False(t, s.compare(secret[:n-1], w), "a prefix of the secret")
				require.False(t, s.compare(secret+"\x00", w), "the secret and a byte more")
			}
		}
	}
	s := NewService(ServiceConfig{Pepper: []byte("pepper")})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				secret := fmt.Sprintf("secret-%d-%d-%0*d", g, i, i%200, 0)
				if !s.compare(secret, want([]byte("pepper"), secret)) {
					t.Error("concurrent compare refused its own secret")
					return
				}
				if s.compare(secret, want([]byte("pepper"), secret+"x")) {
					t.Error("concurrent compare accepted another secret")
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestCompareAllocatesNothing: checking a secret allocates nothing (the
// authentication of every client request runs it) beyond refilling its
// pool. Counted rather than averaged: the race detector's sync.Pool
// drops a quarter of what is put back, so there some calls refill the
// pool; every allocation the calls make must be a refill's.
func TestCompareAllocatesNothing(t *testing.T) {
	s := NewService(ServiceConfig{Pepper: []byte("pepper")})
	w := s.hash("a-secret-of-forty-three-characters-0123456")
	newScratch := s.keyed.pool.New
	refills := 0
	s.keyed.pool.New = func() any { refills++; return newScratch() }
	perRefill := testing.AllocsPerRun(100, func() { _ = s.keyed.pool.New() })

	const calls = 1000
	s.compare("a-secret-of-forty-three-characters-0123456", w) // warm
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	refills = 0
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		if !s.compare("a-secret-of-forty-three-characters-0123456", w) {
			t.Fatal("refused")
		}
	}
	runtime.ReadMemStats(&after)
	mallocs := after.Mallocs - before.Mallocs
	require.Positive(t, perRefill)
	// The runtime's own background work may allocate a few times while the
	// loop runs; an allocation per call would be a thousand more.
	const background = 10
	require.LessOrEqual(t, mallocs, uint64(refills)*uint64(perRefill)+background,
		"%d calls allocated %d times, %d pool refills of %v allocations each", calls, mallocs, refills, perRefill)
	if !allocRefillsExpected {
		require.Zero(t, refills, "without the race detector the pool keeps its scratch")
	}
}
