package token

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// MaxCachedTokenSize is the largest token the verified-token cache keeps:
// bigger ones are rare and would let a caller fill memory faster.
const MaxCachedTokenSize = 4096

// noExpiryTTL bounds the cache life of tokens without exp (never-expiring
// registered tokens), so that they are re-verified now and then.
const noExpiryTTL = 10 * time.Minute

const cacheShards = 64

// cache remembers tokens that passed steps 1–4, keyed by the SHA-256 of
// their text, so a repeat skips parsing and the signature. It never holds a
// revocation verdict: step 5 runs on every hit. It does remember that a
// registered token's record was live, which only revocation (step 5) can
// undo. Bounded: a full shard drops
// an arbitrary entry (Go's map iteration order is random).
type cache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[[32]byte]cacheEntry
}

type cacheEntry struct {
	claims *Claims
	kid    string
	// until is when the entry dies (Unix ns): the token's exp, or noExpiryTTL after caching.
	until int64
	// nbf is when the token becomes valid (Unix ns, leeway applied); 0 if always.
	nbf int64
	// recordLive says a registered token's record was found live
	// (VerifierConfig.Records); until then every use checks it again.
	recordLive bool
	// memo is where callers keep what they derive from claims (VerifyMemo).
	memo *Memo
}

// Memo is a slot beside a cached token's claims where a caller keeps what
// it derives from them alone — forward-auth renders its identity headers and
// body once per cached token — so that it lives and dies with the cache
// entry. Safe for concurrent use; a nil *Memo keeps nothing.
type Memo struct{ v atomic.Value }

// Load returns what Store kept, nil if nothing yet.
func (m *Memo) Load() any {
	if m == nil {
		return nil
	}
	return m.v.Load()
}

// Store keeps x (always of one type per Verifier: atomic.Value's rule); a
// race between two Stores keeps either, both being derived from the same claims.
func (m *Memo) Store(x any) {
	if m != nil {
		m.v.Store(x)
	}
}

func newCache(size int) *cache {
	if size <= 0 {
		return nil
	}
	c := &cache{perShard: max(1, size/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]cacheEntry)
	}
	return c
}

// tokenHash is SHA-256 of raw without copying it.
func tokenHash(raw string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

func (c *cache) shard(h *[32]byte) *cacheShard {
	return &c.shards[binary.LittleEndian.Uint64(h[:8])%cacheShards]
}

// get returns the live entry for h at now (Unix ns).
func (c *cache) get(h *[32]byte, now int64) (cacheEntry, bool) {
	s := c.shard(h)
	s.mu.RLock()
	e, ok := s.m[*h]
	s.mu.RUnlock()
	if !ok || now >= e.until || now < e.nbf {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *cache) put(h *[32]byte, e cacheEntry) {
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.perShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[*h] = e
}

// len is the number of entries (for tests and metrics).
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
