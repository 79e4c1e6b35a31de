package clients

import (
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHashMatchesHMAC: the secret hash from the precomputed key states is
// crypto/hmac's HMAC-SHA-256 of the secret under the pepper, for peppers
// shorter than, equal to and longer than SHA-256's block (a long key is
// hashed first) and secrets of every length, also from many goroutines at
// once (the shared states are only cloned, never written: go test -race).
func TestHashMatchesHMAC(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 9))
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	for _, plen := range []int{0, 1, 32, 63, 64, 65, 128, 300} {
		pepper := bytesOf(plen)
		s := NewService(ServiceConfig{Pepper: pepper})
		require.NotNil(t, s.inner, "SHA-256 clones in Go's library: the fast path must be taken")
		for _, n := range []int{0, 1, 43, 55, 56, 64, 65, 256, 1000} {
			secret := string(bytesOf(n))
			m := hmac.New(sha256.New, pepper)
			m.Write([]byte(secret))
			want := m.Sum(nil)
			got, ok := s.hashCloned(secret)
			require.True(t, ok)
			require.Equal(t, want, got, "pepper %d bytes, secret %d bytes", plen, n)
			require.Equal(t, want, s.hash(secret))
		}
		// Another pepper gives another hash (the states are the pepper's).
		other := NewService(ServiceConfig{Pepper: append(append([]byte{}, pepper...), 'x')})
		require.NotEqual(t, s.hash("secret"), other.hash("secret"))
	}
	s := NewService(ServiceConfig{Pepper: []byte("pepper")})
	m := hmac.New(sha256.New, []byte("pepper"))
	m.Write([]byte("secret"))
	want := m.Sum(nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if !hmac.Equal(s.hash("secret"), want) {
					t.Error("concurrent hash differs")
					return
				}
			}
		})
	}
	wg.Wait()
}
