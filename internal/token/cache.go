package token

import (
	"crypto/sha256"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sigil-dev/sigil/internal/tailalloc"
)

// MaxCachedTokenSize is the largest token the verified-token cache keeps:
// bigger ones are rare and would let a caller fill memory faster.
const MaxCachedTokenSize = 4096

// noExpiryTTL bounds the cache life of tokens without exp (never-expiring
// registered tokens), so that they are re-verified now and then.
const noExpiryTTL = 10 * time.Minute

const cacheShards = 64

// cache remembers tokens that passed steps 1–4, so a repeat skips parsing
// and the signature. Entries are found by a 64-bit maphash of the token's
// text with a per-process random seed; a hit must then present exactly the
// entry's token (tokenID): two tokens whose hashes collide (by chance, or
// by a caller who learnt the seed) only evict each other, one never gets
// the other's claims. No entry holds a token's text. It never holds a
// revocation verdict: step 5 runs on every hit. It does remember that a
// registered token's record was live, which only revocation (step 5) can
// undo. Bounded: a full shard drops
// an arbitrary entry (Go's map iteration order is random).
type cache struct {
	perShard int
	// hash is the lookup key of a token's text.
	hash   func(raw string) uint64
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	// m holds pointers, not entries: its groups stay small (16 bytes a
	// token, one pointer for the collector), and a hit reads the map and
	// then one object, the slot.
	m map[uint64]*slot
}

// slot is one cached token: everything a hit reads, in one allocation
// (newSlot) — the validity window, the SHA-256 of the signature, the
// claims pointer, the memos, and the text of the signed part and of the
// kid in the same object's tail. With many tokens cached the working set
// is larger than the CPU's caches and every separate object a hit touches
// is a likely miss to memory; one object is one miss (and a few adjacent
// lines), and one object per token for the collector to mark.
//
// Everything but recordLive and the memos is written before the slot is
// published (put, under the shard's lock) and only read after.
type slot struct {
	// until is when the entry dies (Unix ns): the token's exp, or noExpiryTTL after caching.
	until int64
	// nbf is when the token becomes valid (Unix ns, leeway applied): the
	// later of its nbf and iat (Verifier.validFrom); 0 if always.
	nbf int64
	// id is the token a hit must present: signed is a view of the tail.
	id     tokenID
	claims *Claims
	// kid is a view of the tail.
	kid string
	// recordLive says a registered token's record was found live
	// (VerifierConfig.Records); until then every use checks it again.
	recordLive atomic.Bool
	// memo is where callers keep what they derive from claims (VerifyMemo).
	memo Memo
	// revMemo is the Revocation's (MemoRevocation): its own slot, so that
	// it never shares atomic.Value's one type with the callers' memo.
	revMemo Memo
	// box holds the claims (claims is &box.c) when the token was parsed
	// into its slot (verifyToken with a slot to fill): the claims, their
	// dates and, in the tail, the payload text their strings are views of
	// sit in the slot too. Unused (zero) when the claims came from
	// golang-jwt's parser.
	box claimsBox
}

// slots makes slots with their text in the same object (tailalloc): a
// tail of up to maxSlotTail bytes, in 64-byte steps, so that a token's
// slot wastes less than 64 bytes of it.
var slots = tailalloc.New[slot](64, maxSlotTail)

// maxSlotTail bounds a slot's text: a cacheable token's signed part, and
// the kid and payload decoded from it.
const maxSlotTail = 2 * MaxCachedTokenSize

// newSlot is a slot holding a copy of signed, kid and payload in its tail,
// one allocation: the views never alias another token's text, and an
// entry does not pin the request that brought the token. The payload (the
// decoded claims' JSON) is box.payload, whose substrings the claims' plain
// strings become (scanner.shared); nil when the claims are parsed
// elsewhere. ok is false when the text is too long to keep (the token is
// then not cached).
func newSlot(signed, kid string, payload []byte) (s *slot, ok bool) {
	s, tail, ok := slots.New(len(signed) + len(kid) + len(payload))
	if !ok {
		return nil, false
	}
	copy(tail, signed)
	copy(tail[len(signed):], kid)
	copy(tail[len(signed)+len(kid):], payload)
	s.id.signed = unsafe.String(unsafe.SliceData(tail), len(signed))
	s.kid = unsafe.String(unsafe.SliceData(tail[len(signed):]), len(kid))
	if len(payload) > 0 {
		s.box.payload = unsafe.String(unsafe.SliceData(tail[len(signed)+len(kid):]), len(payload))
	}
	return s, true
}

// tail is the text of s's tail (signed part, kid, payload), for tests.
func (s *slot) tail() string {
	return unsafe.String(unsafe.StringData(s.id.signed), len(s.id.signed)+len(s.kid)+len(s.box.payload))
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

// LoadOrStore returns what Store kept, else keeps x and returns it; with
// a nil *Memo it returns x.
func (m *Memo) LoadOrStore(x any) any {
	if m == nil {
		return x
	}
	for {
		if v := m.v.Load(); v != nil {
			return v
		}
		if m.v.CompareAndSwap(nil, x) {
			return x
		}
	}
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
	c := &cache{perShard: max(1, size/cacheShards), hash: cacheHash}
	if cacheHashHook != nil {
		c.hash = cacheHashHook
	}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]*slot)
	}
	return c
}

// cacheSeed is this process's maphash seed: random, so nobody outside
// chooses tokens that collide (a collision is safe, see cache, but costs
// the colliding tokens their cache entries).
var cacheSeed = maphash.MakeSeed()

func cacheHash(raw string) uint64 { return maphash.String(cacheSeed, raw) }

// cacheHashHook replaces cacheHash in caches made after it is set: tests
// force collisions with it. Nil in production.
var cacheHashHook func(raw string) uint64

// tokenID is what a cache entry keeps of its token's text: the signed part
// (header.payload: the claims, already held parsed, with nothing a caller
// could present) and the SHA-256 of the signature segment's text — never
// the token itself, so the cache holds no credential. A text is the token
// exactly when both match: equal signed parts, and signatures that SHA-256
// cannot tell apart (base64's spare bits and ECDSA's malleability make
// other texts of a genuine token, which therefore miss and are verified).
type tokenID struct {
	signed string
	sig    [32]byte
}

// is reports whether raw is the token of id.
func (id *tokenID) is(raw string) bool {
	signed, sig := splitSignature(raw)
	return signed == id.signed && sha256.Sum256(bytesOf(sig)) == id.sig
}

// bytesOf is s's bytes without copying them (read only).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// splitSignature cuts raw at its second dot: header.payload and the
// signature (a genuine token has no other dot; whatever the text, signed,
// a dot and sig are all of it, so equal parts mean equal texts).
// strings.IndexByte, unlike LastIndexByte, is vectorised.
func splitSignature(raw string) (signed, sig string) {
	if i := strings.IndexByte(raw, '.'); i >= 0 {
		if j := strings.IndexByte(raw[i+1:], '.'); j >= 0 {
			return raw[:i+1+j], raw[i+2+j:]
		}
	}
	return raw, ""
}

// key is the lookup key of raw.
func (c *cache) key(raw string) uint64 { return c.hash(raw) }

func (c *cache) shard(h uint64) *cacheShard {
	// The low bits pick the map's bucket: the shard takes the high ones.
	return &c.shards[(h>>58)%cacheShards]
}

// get returns the live slot of the token raw, whose key is h, at now (Unix ns).
func (c *cache) get(h uint64, raw string, now int64) (*slot, bool) {
	sh := c.shard(h)
	sh.mu.RLock()
	s := sh.m[h]
	sh.mu.RUnlock()
	if s == nil || now >= s.until || now < s.nbf || !s.id.is(raw) {
		return nil, false
	}
	return s, true
}

// put keeps s under h.
func (c *cache) put(h uint64, s *slot) {
	sh := c.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[h]; !ok && len(sh.m) >= c.perShard {
		for k := range sh.m {
			delete(sh.m, k)
			break
		}
	}
	sh.m[h] = s
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
