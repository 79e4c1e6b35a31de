package clients

import (
	"crypto/sha256"
	"encoding"
	"hash"
	"sync"
)

// keyedHashes is HMAC-SHA-256 under one key from its two precomputed hash
// states (RFC 2104: H(K^ipad), H(K^opad)), without an allocation per
// hash: each hash takes a pair of SHA-256 hashes from a pool and resets
// them to the saved states (encoding.BinaryUnmarshaler) instead of
// cloning the states (two allocations) and hashing into new slices.
type keyedHashes struct {
	inner, outer []byte // the two states, as SHA-256's MarshalBinary writes them
	pool         sync.Pool
}

// hmacScratch is one hash's working memory.
type hmacScratch struct {
	in, out   hash.Hash
	inR, outR encoding.BinaryUnmarshaler
	// buf carries the secret into the hash: a string written through the
	// hash.Hash interface would be copied to a new slice each time.
	buf [128]byte
	sum [sha256.Size]byte
}

// newKeyedHashes returns the keyedHashes of the states inner and outer
// (SHA-256 after the padded key blocks), or nil if SHA-256 cannot save
// and restore its state (never in Go's library).
func newKeyedHashes(inner, outer hash.Hash) *keyedHashes {
	im, ok1 := inner.(encoding.BinaryMarshaler)
	om, ok2 := outer.(encoding.BinaryMarshaler)
	if !ok1 || !ok2 {
		return nil
	}
	is, err1 := im.MarshalBinary()
	os, err2 := om.MarshalBinary()
	if err1 != nil || err2 != nil {
		return nil
	}
	if _, ok := sha256.New().(encoding.BinaryUnmarshaler); !ok {
		return nil
	}
	k := &keyedHashes{inner: is, outer: os}
	k.pool.New = func() any {
		in, out := sha256.New(), sha256.New()
		return &hmacScratch{in: in, out: out, inR: in.(encoding.BinaryUnmarshaler), outR: out.(encoding.BinaryUnmarshaler)}
	}
	return k
}

// sum writes HMAC-SHA-256(key, secret) into dst; false if a saved state
// could not be restored (then dst is untouched and the caller uses
// crypto/hmac).
func (k *keyedHashes) sum(secret string, dst *[sha256.Size]byte) bool {
	h := k.pool.Get().(*hmacScratch)
	defer k.pool.Put(h)
	if h.inR.UnmarshalBinary(k.inner) != nil || h.outR.UnmarshalBinary(k.outer) != nil {
		return false
	}
	for secret != "" {
		n := copy(h.buf[:], secret)
		h.in.Write(h.buf[:n])
		secret = secret[n:]
	}
	h.out.Write(h.in.Sum(h.sum[:0]))
	h.out.Sum(h.sum[:0])
	*dst = h.sum
	// Nothing of the secret stays behind in the pool: the buffers are
	// zeroed and both hashes go back to the key states (whose saved
	// block buffers are zeros past the key block).
	h.buf, h.sum = [128]byte{}, [sha256.Size]byte{}
	_ = h.inR.UnmarshalBinary(k.inner)
	_ = h.outR.UnmarshalBinary(k.outer)
	return true
}
