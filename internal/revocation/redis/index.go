package redis

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/revocation"
)

// The denylist index (key layout 2). Reading ten million entries as one key
// each (SCAN, then a GET per key) takes about a minute; the index keeps
// every entry a second time in one of indexBuckets sorted sets, which the
// replica reads in bulk:
//
//	<prefix>denyidx:{<tag>} sorted set: one member per entry of the denylist
//	                        keys that hash to the same Cluster slot as this
//	                        key (the tag is chosen for that: slotTags), so a
//	                        Lua script writes the entry and its member
//	                        atomically, also on a Cluster. Member: the
//	                        expiry in Unix ms as 8 bytes big-endian (0 =
//	                        never), then 'u' and the 16 bytes of a UUID id,
//	                        or 't' and the id's text; score: the expiry
//	                        (+inf for never). Members of expired entries are
//	                        removed by score (ZREMRANGEBYSCORE) when their
//	                        set is written and at every full load.
//	<prefix>denylayout      string: 1 while the index is being built (every
//	                        write maintains it, loads still SCAN), 2 once it
//	                        is complete (loads read the index); missing:
//	                        layout 1, no index.
//
// The per-id keys (<prefix>deny:<id>) stay as they were: direct mode and
// the native TTL use them, and an older sigil reads them. The member holds
// the expiry so that a load reads members without scores (Redis formats a
// double per score, which costs more than the rest of the read); an entry
// whose expiry is raised gets a second member, and the loader keeps the
// later expiry, as for events.

// indexBuckets is how many index sets there are: one per Cluster slot.
const indexBuckets = 16384

// Layout states in <prefix>denylayout.
const (
	layoutIndexing = 1
	layoutIndexed  = 2
)

// pruneGrace is how long past its expiry an index member is kept: pruning
// is not urgent, and the grace keeps a reader whose clock is behind the
// pruner's from missing an entry it still counts as live.
const pruneGrace = time.Minute

// indexChunk is how many members one read of an index set returns at most
// (larger sets are read in pages); indexPipeline how many sets one pipeline
// reads; indexReaders how many pipelines run at once (Redis builds one
// reply while sigil parses another). Variables for the tests.
var (
	indexChunk    = 20000
	indexPipeline = 512
	indexReaders  = 3
)

var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^s[i]]
	}
	return crc
}

// keySlot is the Redis Cluster slot of key (CRC16 of the key, or of the
// part between its first '{' and the next '}' when that part is not empty).
func keySlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % indexBuckets)
}

// slotTags holds, for each slot, the smallest decimal number whose CRC16
// lands in it: the hash tag of that slot's index set. Part of the stored
// layout: changing it would orphan every index set.
var slotTags = sync.OnceValue(func() *[indexBuckets]string {
	var tags [indexBuckets]string
	left := indexBuckets
	for n := 0; left > 0; n++ {
		s := strconv.Itoa(n)
		if slot := crc16(s) % indexBuckets; tags[slot] == "" {
			tags[slot] = s
			left--
		}
	}
	return &tags
})

func (s *Store) layoutKey() string { return s.prefix + "denylayout" }

// indexKey is the index set of the denylist keys of slot.
func (s *Store) indexKey(slot int) string {
	return s.prefix + "denyidx:{" + slotTags()[slot] + "}"
}

// indexKeyOf is the index set of id's entry: the same slot as its key.
func (s *Store) indexKeyOf(id string) string { return s.indexKey(keySlot(s.denyKey(id))) }

// memberSuffix is the part of id's index member after the expiry.
func memberSuffix(id string) string {
	if u, ok := revocation.ParseUUID(id); ok {
		return "u" + string(u[:])
	}
	return "t" + id
}

// member is the index member of id with expiry ms (0 = never).
func member(id string, ms int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms))
	return string(b[:]) + memberSuffix(id)
}

// score is the index score of expiry ms.
func score(ms int64) string {
	if ms == 0 {
		return "+inf"
	}
	return strconv.FormatInt(ms, 10)
}

// indexedDenyScript is denyScript that also keeps the index: KEYS[2] is the
// entry's index set (same slot), ARGV[3] the member's suffix (memberSuffix),
// ARGV[4] the pruning bound in Unix ms. Whether or not it writes the entry,
// it makes sure the set holds the member of the entry in force (so an entry
// an older sigil wrote gets one), and drops members that expired before
// the bound.
var indexedDenyScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local exp = ARGV[1]
local wrote = 0
if cur and redis.call('PTTL', KEYS[1]) == -1 then
	exp = '0'
elseif cur and ARGV[1] ~= '0' and tonumber(cur) and tonumber(cur) >= tonumber(ARGV[1]) then
	exp = cur
else
	if ARGV[1] == '0' then
		redis.call('SET', KEYS[1], '0')
	else
		redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	end
	wrote = 1
end
local n = tonumber(exp)
local sc = '+inf'
if n ~= 0 then
	sc = exp
end
redis.call('ZADD', KEYS[2], sc, struct.pack('>I8', n) .. ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
return wrote
`)

// indexScript indexes the entry in force at KEYS[1] (if any) in KEYS[2]:
// ARGV[1] the member's suffix, ARGV[2] the pruning bound.
var indexScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then
	return 0
end
local exp = cur
if redis.call('PTTL', KEYS[1]) == -1 then
	exp = '0'
end
local n = tonumber(exp)
if not n then
	return 0
end
local sc = '+inf'
if n ~= 0 then
	sc = exp
end
redis.call('ZADD', KEYS[2], sc, struct.pack('>I8', n) .. ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
return 1
`)

// indexedDenyOnceScript is DenyOnce's SET NX that also indexes the entry it
// creates: KEYS[1] the entry, KEYS[2] its index set; ARGV[1] the expiry in
// Unix ms ("0": never), ARGV[2] the TTL in ms ("0": none), ARGV[3] the
// member, ARGV[4] its score, ARGV[5] the pruning bound. Returns 1 if it
// created the entry.
var indexedDenyOnceScript = goredis.NewScript(`
local ok
if ARGV[2] == '0' then
	ok = redis.call('SET', KEYS[1], ARGV[1], 'NX')
else
	ok = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
end
if not ok then
	return 0
end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
return 1
`)

// pruneBound is the score at or below which index members are dropped.
func (s *Store) pruneBound() string {
	return strconv.FormatInt(s.now().Add(-pruneGrace).UnixMilli(), 10)
}

// indexing reports whether writes must keep the index: known once this
// Store has seen <prefix>denylayout set (it never goes back).
func (s *Store) indexing() bool { return s.layout.Load() >= layoutIndexing }

// readLayout reads <prefix>denylayout (0 when missing) and remembers it.
func (s *Store) readLayout(ctx context.Context) (int, error) {
	v, err := s.client.Get(ctx, s.layoutKey()).Int()
	switch {
	case errors.Is(err, goredis.Nil):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("read denylist layout: %w: %w", revocation.ErrUnavailable, err)
	}
	s.noteLayout(v)
	return v, nil
}

func (s *Store) noteLayout(v int) {
	for {
		cur := s.layout.Load()
		if int64(v) <= cur || s.layout.CompareAndSwap(cur, int64(v)) {
			return
		}
	}
}

// catchUp runs after a write made without the index (this Store had not
// seen the layout key yet): if the index is being built or complete by
// now, the entry in force is indexed too. Either the key was written
// before the migration set the layout key, and its SCAN (which starts
// after that) finds it, or this read sees the layout key and indexes it.
func (s *Store) catchUp(ctx context.Context, id string) error {
	v, err := s.readLayout(ctx)
	if err != nil || v < layoutIndexing {
		return err
	}
	key, idx := s.denyKey(id), s.indexKeyOf(id)
	return s.write(ctx, key, func(c writer) error {
		return indexScript.Run(ctx, c, []string{key, idx}, memberSuffix(id), s.pruneBound()).Err()
	})
}

// MigrateDenylist brings a denylist of key layout 1 (per-id keys only) to
// layout 2 (the index), once: it sets <prefix>denylayout to 1 (from then
// on every write keeps the index), SCANs every denylist key (on every
// master of a cluster) and adds its member to its index set (ZADD: an
// entry indexed twice is harmless), then sets the layout to 2, after which
// loads read the index. Idempotent, so several instances starting at once,
// or a run cut short and started again, do no harm. It returns how many
// entries it indexed (0 when the layout is already 2). A store made
// ReadOnly does nothing.
func (s *Store) MigrateDenylist(ctx context.Context) (int, error) {
	if s.readOnly {
		return 0, nil
	}
	v, err := s.readLayout(ctx)
	if err != nil || v >= layoutIndexed {
		return 0, err
	}
	if err := s.client.SetNX(ctx, s.layoutKey(), layoutIndexing, 0).Err(); err != nil {
		return 0, fmt.Errorf("migrate denylist: %w: %w", revocation.ErrUnavailable, err)
	}
	s.noteLayout(layoutIndexing)
	prefix := s.denyKey("")
	var indexed atomic.Int64
	err = s.scan(ctx, prefix+"*", func(keys []string, vals []any) error {
		_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, v := range vals {
				ms, ok := millis(v)
				if !ok {
					continue // expired since the SCAN, or not ours
				}
				id := strings.TrimPrefix(keys[i], prefix)
				p.ZAdd(ctx, s.indexKeyOf(id), goredis.Z{Score: scoreFloat(ms), Member: member(id, ms)})
				indexed.Add(1)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return int(indexed.Load()), fmt.Errorf("migrate denylist: %w: %w", revocation.ErrUnavailable, err)
	}
	if err := s.client.Set(ctx, s.layoutKey(), layoutIndexed, 0).Err(); err != nil {
		return int(indexed.Load()), fmt.Errorf("migrate denylist: %w: %w", revocation.ErrUnavailable, err)
	}
	s.noteLayout(layoutIndexed)
	return int(indexed.Load()), nil
}

func scoreFloat(ms int64) float64 {
	if ms == 0 {
		return math.Inf(1)
	}
	return float64(ms)
}

// ScanDeniedBulk calls uuid for every live entry whose id is a UUID (its
// 16 bytes and expiry in Unix ms, 0 = never) and other for the rest, one
// call at a time. With the index complete (layout 2) it reads the index
// sets, pipelined, several pipelines at once, members without scores,
// parsed from the raw reply without a string per entry; on an older
// layout it SCANs the keys as ScanDenied did. Unless ReadOnly, it first
// drops each set's expired members (in the same pipeline).
func (s *Store) ScanDeniedBulk(ctx context.Context, uuid func(id [16]byte, expMs int64), other func(id string, expMs int64)) error {
	v, err := s.readLayout(ctx)
	if err != nil {
		return fmt.Errorf("scan denylist: %w", err)
	}
	if v < layoutIndexed {
		return s.scanKeys(ctx, uuid, other)
	}
	if err := s.scanIndex(ctx, uuid, other); err != nil {
		return fmt.Errorf("scan denylist index: %w: %w", revocation.ErrUnavailable, err)
	}
	return nil
}

// scanKeys reads layout 1: SCAN of the keys, a read of their values.
func (s *Store) scanKeys(ctx context.Context, uuid func(id [16]byte, expMs int64), other func(id string, expMs int64)) error {
	prefix := s.denyKey("")
	var mu sync.Mutex
	err := s.scan(ctx, prefix+"*", func(keys []string, vals []any) error {
		mu.Lock()
		defer mu.Unlock()
		for i, v := range vals {
			ms, ok := millis(v)
			if !ok {
				continue // vanished (expired) since the SCAN, or not ours
			}
			id := strings.TrimPrefix(keys[i], prefix)
			if u, ok := revocation.ParseUUID(id); ok {
				uuid(u, ms)
			} else {
				other(id, ms)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan denylist: %w: %w", revocation.ErrUnavailable, err)
	}
	return nil
}

// scanIndex reads every index set: members whose score is after now.
func (s *Store) scanIndex(ctx context.Context, uuid func(id [16]byte, expMs int64), other func(id string, expMs int64)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	now := strconv.FormatInt(s.now().UnixMilli(), 10)
	bound := s.pruneBound()
	var mu sync.Mutex // callbacks one at a time
	emit := func(raw []byte) (int, int64, int, error) {
		mu.Lock()
		defer mu.Unlock()
		return eachMember(raw, uuid, other)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, indexReaders)
	for range indexReaders {
		wg.Go(func() {
			for ctx.Err() == nil {
				lo := int(next.Add(int64(indexPipeline))) - indexPipeline
				if lo >= indexBuckets {
					return
				}
				if err := s.readBuckets(ctx, lo, min(lo+indexPipeline, indexBuckets), now, bound, emit); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// readBuckets reads the index sets of slots [lo, hi) with one pipeline,
// then any set with more than indexChunk live members page by page.
func (s *Store) readBuckets(ctx context.Context, lo, hi int, now, bound string, emit func([]byte) (int, int64, int, error)) error {
	chunk := strconv.Itoa(indexChunk)
	cmds := make([]*goredis.RawCmd, 0, hi-lo)
	_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for slot := lo; slot < hi; slot++ {
			key := s.indexKey(slot)
			if !s.readOnly {
				p.ZRemRangeByScore(ctx, key, "-inf", bound)
			}
			cmd := goredis.NewRawCmd(ctx, "ZRANGE", key, "("+now, "+inf", "BYSCORE", "LIMIT", "0", chunk)
			_ = p.Process(ctx, cmd)
			cmds = append(cmds, cmd)
		}
		return nil
	})
	if err != nil {
		s.reloadCluster(ctx)
		return err
	}
	for i, cmd := range cmds {
		n, lastExp, tied, err := emit(cmd.Val())
		if err != nil {
			s.reloadCluster(ctx)
			return fmt.Errorf("%s: %w", s.indexKey(lo+i), err)
		}
		if n == indexChunk {
			if err := s.readPages(ctx, s.indexKey(lo+i), lastExp, tied, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// readPages reads the rest of a large index set after a full first page
// whose last tied members share expiry lastExp. Pages go by score, from
// the last score read, skipping (LIMIT offset) the members of that score
// already read: members leave a set only by pruning (of expired scores)
// and a new member at the current score lands before or after the offset,
// so nothing live is skipped; a member read twice is harmless.
func (s *Store) readPages(ctx context.Context, key string, lastExp int64, tied int, emit func([]byte) (int, int64, int, error)) error {
	minScore, off := score(lastExp), tied
	for {
		cmd := goredis.NewRawCmd(ctx, "ZRANGE", key, minScore, "+inf", "BYSCORE", "LIMIT", strconv.Itoa(off), strconv.Itoa(indexChunk))
		if err := s.client.Process(ctx, cmd); err != nil {
			s.reloadCluster(ctx)
			return err
		}
		n, exp, t, err := emit(cmd.Val())
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if n < indexChunk {
			return nil
		}
		if sc := score(exp); sc == minScore {
			off += n // the whole page had the score it started from
		} else {
			minScore, off = sc, t
		}
	}
}

func (s *Store) reloadCluster(ctx context.Context) {
	if cc, ok := s.client.(*goredis.ClusterClient); ok {
		cc.ReloadState(ctx)
	}
}

// eachMember parses a raw RESP2/RESP3 reply of ZRANGE without scores (an
// array of bulk strings) and calls uuid or other for each member. It
// returns how many members the reply held, the last member's expiry and
// how many members at the end of the reply share that expiry. Members of
// an unknown form are skipped; an error reply is an error.
func eachMember(raw []byte, uuid func(id [16]byte, expMs int64), other func(id string, expMs int64)) (n int, lastExp int64, tied int, err error) {
	if len(raw) == 0 {
		return 0, 0, 0, errors.New("empty reply")
	}
	if raw[0] == '-' || raw[0] == '!' {
		return 0, 0, 0, fmt.Errorf("redis: %s", strings.TrimSpace(string(raw[1:])))
	}
	if raw[0] != '*' && raw[0] != '~' {
		return 0, 0, 0, fmt.Errorf("unexpected reply %.20q", raw)
	}
	count, p, err := respInt(raw, 1)
	if err != nil {
		return 0, 0, 0, err
	}
	for range count {
		if p >= len(raw) || raw[p] != '$' {
			return n, lastExp, tied, fmt.Errorf("unexpected element at %d", p)
		}
		l, q, err := respInt(raw, p+1)
		if err != nil || l < 0 || q+l+2 > len(raw) {
			return n, lastExp, tied, fmt.Errorf("bad bulk string at %d", p)
		}
		m := raw[q : q+l]
		p = q + l + 2
		n++
		if len(m) < 9 {
			continue
		}
		exp := int64(binary.BigEndian.Uint64(m[:8]))
		if n > 1 && exp == lastExp {
			tied++
		} else {
			lastExp, tied = exp, 1
		}
		switch {
		case m[8] == 'u' && len(m) == 25:
			uuid([16]byte(m[9:25]), exp)
		case m[8] == 't' && len(m) > 9:
			other(string(m[9:]), exp)
		}
	}
	return n, lastExp, tied, nil
}

// respInt reads the decimal number at raw[p:] up to "\r\n" and returns it
// and the position after the "\r\n".
func respInt(raw []byte, p int) (int, int, error) {
	neg := false
	if p < len(raw) && raw[p] == '-' {
		neg = true
		p++
	}
	v, start := 0, p
	for p < len(raw) && raw[p] >= '0' && raw[p] <= '9' {
		v = v*10 + int(raw[p]-'0')
		p++
	}
	if p == start || p+1 >= len(raw) || raw[p] != '\r' || raw[p+1] != '\n' {
		return 0, 0, errors.New("bad length in reply")
	}
	if neg {
		v = -v
	}
	return v, p + 2, nil
}

// IndexEntry returns the index set and member (with its score) of the
// denylist entry id expiring at expMs (Unix ms, 0 = never) under prefix,
// as Deny writes them: for tools that fill a denylist straight into Redis
// (test/bench), together with the entry's key and LayoutMark.
func IndexEntry(prefix, id string, expMs int64) (key string, z goredis.Z) {
	s := &Store{prefix: prefix}
	return s.indexKeyOf(id), goredis.Z{Score: scoreFloat(expMs), Member: member(id, expMs)}
}

// LayoutMark returns the key and value that mark the denylist under prefix
// as indexed (key layout 2): loads then read the index only.
func LayoutMark(prefix string) (key string, value int) {
	return (&Store{prefix: prefix}).layoutKey(), layoutIndexed
}
