package redis

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/registry"
	revredis "github.com/sigil-dev/sigil/internal/revocation/redis"
)

// Store implements the registry's store interfaces too (see redis.go for
// the others).
var (
	_ registry.Store        = (*Store)(nil)
	_ registry.UsageStore   = (*Store)(nil)
	_ registry.RecordReader = (*Store)(nil)
)

// Registry keys, beside the client and denylist keys of Store:
//
//	<prefix>rec:<id>                       string: the record as JSON (recordV1, format.go;
//	                                       with its jti and sealed JWT)
//	<prefix>apiname:<len(owner)>:<owner>:<lower-case name>
//	                                       string: the id of the live API token holding
//	                                       that name (SET NX; registry.HoldsName, NameKey);
//	                                       the owner's length keeps "a:b"+"c" apart from "a"+"b:c"
//	<prefix>recidx:all                     sorted set of ids scored by createdAt (Unix ms)
//	<prefix>recidx:report:<reportId>       the same, for one report
//	<prefix>recidx:app:<appId>             the same, for one app
//	<prefix>recidx:owner:<owner>           the same, for one owner
//	<prefix>recidx:creator:<createdBy>     the same, for the records one client created
//	<prefix>recexp                         sorted set of ids scored by EndedAt (Unix ms):
//	                                       the earlier of revokedAt and expiresAt
//	<prefix>reglayout                      string: the layout version of these keys
//	                                       (registryLayout); MigrateRegistry brings older
//	                                       data to it. Layout 1 (no reglayout) claimed every
//	                                       record's name, case-sensitive, under
//	                                       recname:<len(owner)>:<owner>:<name>, and had no
//	                                       creator index.
//	<prefix>reclogs:<id>                   sorted set of log entries scored by event time
//	                                       (Unix ms), each member a tie-breaker and the entry
//	                                       as JSON (logEntryV1, format.go); capped at the
//	                                       newest registry.MaxLogs; TTL registry.LogRetention
//	                                       once the record is gone.
//	                                       (Before, reclog:<id> was a list in append order;
//	                                       those old logs are not read.)
//	<prefix>role:<role>                    set of owners holding role
//	<prefix>fail:<key>                     failure counter, TTL = its window
//
// Every command and every script touches one key (scripts and MULTI only
// ever name one), so this runs unchanged on Redis Cluster.

func (s *Store) recKey(id string) string { return revredis.RecordKey(s.prefix, id) }
func (s *Store) recNameKey(owner, name string) string {
	return s.prefix + "apiname:" + strconv.Itoa(len(owner)) + ":" + owner + ":" + registry.NameKey(name)
}

// layout2NameKey is layout 2's name claim (lower case), which
// MigrateRegistry moves to recNameKey where they differ.
func (s *Store) layout2NameKey(owner, name string) string {
	return s.prefix + "apiname:" + strconv.Itoa(len(owner)) + ":" + owner + ":" + strings.ToLower(name)
}

// legacyNameKey is layout 1's name claim, which MigrateRegistry frees.
func (s *Store) legacyNameKey(owner, name string) string {
	return s.prefix + "recname:" + strconv.Itoa(len(owner)) + ":" + owner + ":" + name
}
func (s *Store) recCreatorKey(c string) string { return s.prefix + "recidx:creator:" + c }
func (s *Store) layoutKey() string             { return s.prefix + "reglayout" }
func (s *Store) recAllKey() string             { return s.prefix + "recidx:all" }
func (s *Store) recReportKey(id string) string { return s.prefix + "recidx:report:" + id }
func (s *Store) recAppKey(id string) string    { return s.prefix + "recidx:app:" + id }
func (s *Store) recOwnerKey(o string) string   { return s.prefix + "recidx:owner:" + o }
func (s *Store) recExpKey() string             { return s.prefix + "recexp" }
func (s *Store) recLogKey(id string) string    { return s.prefix + "reclogs:" + id }
func (s *Store) roleKey(role string) string    { return s.prefix + "role:" + role }
func (s *Store) failKey(key string) string     { return s.prefix + "fail:" + key }

// indexKeys are the listing indices r belongs to.
func (s *Store) indexKeys(r registry.Record) []string {
	keys := []string{s.recAllKey(), s.recOwnerKey(r.Owner)}
	if r.CreatedBy != "" {
		keys = append(keys, s.recCreatorKey(r.CreatedBy))
	}
	if r.ReportID != "" {
		keys = append(keys, s.recReportKey(r.ReportID))
	}
	if r.AppID != "" {
		keys = append(keys, s.recAppKey(r.AppID))
	}
	return keys
}

// maxTxRetries bounds the optimistic (WATCH) retries of one record update.
const maxTxRetries = 16

// casDelScript deletes KEYS[1] only if it holds ARGV[1]: a name claim is
// freed only by the record that holds it.
var casDelScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// cleanupCtx is for compensating writes after a failure: they run even if
// ctx was cancelled, for a bounded time.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
}

// claimName claims (owner, name) for id with SET NX. mine is true if id holds
// the name afterwards; fresh is true if this call took it.
func (s *Store) claimName(ctx context.Context, owner, name, id string) (mine, fresh bool, err error) {
	key := s.recNameKey(owner, name)
	ok, err := s.client.SetNX(ctx, key, id, 0).Result()
	if err != nil {
		return false, false, err
	}
	if ok {
		return true, true, nil
	}
	holder, err := s.client.Get(ctx, key).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		// Freed between SET NX and GET: try once more.
		ok, err = s.client.SetNX(ctx, key, id, 0).Result()
		return ok, ok, err
	case err != nil:
		return false, false, err
	}
	return holder == id, false, nil
}

// freeName deletes the claim of (owner, name) if id holds it.
func (s *Store) freeName(ctx context.Context, owner, name, id string) error {
	return casDelScript.Run(ctx, s.client, []string{s.recNameKey(owner, name)}, id).Err()
}

// CreateRecord claims r's name (SET NX on its recname key: ErrNameTaken if
// another record holds it), then writes the record (SET NX on rec:<id>),
// then adds it to its indices (one pipeline). A failure after the claim
// undoes what was written (best effort) and wraps apperr.ErrStoreUnavailable;
// a crash in between leaves at most a claimed name or an unindexed record,
// never a listed record that does not exist.
func (s *Store) CreateRecord(ctx context.Context, r registry.Record) error {
	op := fmt.Sprintf("create record %q", r.ID)
	b, err := encodeRecord(r)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", op, err)
	}
	mine, fresh := true, false
	if registry.HoldsName(r) {
		mine, fresh, err = s.claimName(ctx, r.Owner, r.Name, r.ID)
		if err != nil {
			return unavailable(op+": claim name", err)
		}
	}
	if !mine {
		return fmt.Errorf("%s: %w", op, registry.ErrNameTaken)
	}
	undo := func(cause error, recordWritten bool) error {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		var errs []error
		if recordWritten {
			_, err := s.client.Pipelined(cctx, func(p goredis.Pipeliner) error {
				p.Del(cctx, s.recKey(r.ID))
				for _, k := range s.indexKeys(r) {
					p.ZRem(cctx, k, r.ID)
				}
				p.ZRem(cctx, s.recExpKey(), r.ID)
				return nil
			})
			errs = append(errs, err)
		}
		if fresh {
			errs = append(errs, s.freeName(cctx, r.Owner, r.Name, r.ID))
		}
		if err := errors.Join(errs...); err != nil {
			return errors.Join(cause, fmt.Errorf("undo: %w", err))
		}
		return cause
	}

	created, err := s.client.SetNX(ctx, s.recKey(r.ID), b, 0).Result()
	if err != nil {
		return unavailable(op, undo(err, false))
	}
	if !created {
		return undo(fmt.Errorf("%s: a record with this id exists", op), false)
	}
	score := float64(r.Score())
	_, err = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, k := range s.indexKeys(r) {
			p.ZAdd(ctx, k, goredis.Z{Score: score, Member: r.ID})
		}
		if end := r.EndedAt(); end != nil {
			p.ZAdd(ctx, s.recExpKey(), goredis.Z{Score: float64(end.UnixMilli()), Member: r.ID})
		}
		// Logs appended while no record had this id carry a TTL: keep them now.
		p.Persist(ctx, s.recLogKey(r.ID))
		return nil
	})
	if err != nil {
		return unavailable(op+": index", undo(err, true))
	}
	return nil
}

// GetRecord returns the record; an error wrapping registry.ErrNotFound if
// absent, or apperr.ErrStoreUnavailable if Redis fails.
func (s *Store) GetRecord(ctx context.Context, id string) (registry.Record, error) {
	op := fmt.Sprintf("get record %q", id)
	b, err := s.client.Get(ctx, s.recKey(id)).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		return registry.Record{}, fmt.Errorf("%s: %w", op, registry.ErrNotFound)
	case err != nil:
		return registry.Record{}, unavailable(op, err)
	}
	return decodeRecord(op, b)
}

// watchRecord runs fn in an optimistic transaction on rec:<id> (WATCH, GET,
// MULTI/EXEC inside fn), retrying when another writer got there first.
// found is false if the record does not exist (fn is then not called).
func (s *Store) watchRecord(ctx context.Context, op, id string, fn func(tx *goredis.Tx, cur registry.Record) error) (found bool, err error) {
	key := s.recKey(id)
	var inner error // what fn returned, passed through as is
	txf := func(tx *goredis.Tx) error {
		inner = nil
		b, err := tx.Get(ctx, key).Bytes()
		switch {
		case errors.Is(err, goredis.Nil):
			found = false
			return nil
		case err != nil:
			return unavailable(op, err)
		}
		found = true
		cur, err := decodeRecord(op, b)
		if err != nil {
			return err
		}
		inner = fn(tx, cur)
		return inner
	}
	for range maxTxRetries {
		err = s.client.Watch(ctx, txf, key)
		switch {
		case errors.Is(err, goredis.TxFailedErr):
			continue
		case err != nil && err != inner && !errors.Is(err, apperr.ErrStoreUnavailable):
			// WATCH or UNWATCH itself failed: the connection.
			return found, unavailable(op, err)
		}
		return found, err
	}
	return found, unavailable(op+": too much contention", err)
}

// UpdateRecord replaces the record as registry.ApplyUpdate describes, in an
// optimistic transaction on its key (WATCH/MULTI). On a rename the new name
// is claimed (SET NX) before the record is written — ErrNameTaken if another
// record holds it, and nothing changes — and the old claim is freed after.
// ErrNotFound if there is no record; Redis failures wrap
// apperr.ErrStoreUnavailable.
func (s *Store) UpdateRecord(ctx context.Context, r registry.Record) error {
	return s.updateRecord(ctx, r, nil)
}

// UpdateRecordIf is UpdateRecord if the stored record's generation is still
// jti (registry.CheckGeneration): the condition is checked on the record
// read under WATCH and the write is its MULTI/EXEC, one key, so it is a
// compare-and-swap that holds on Redis Cluster. registry.ErrConflict
// otherwise (nothing written).
func (s *Store) UpdateRecordIf(ctx context.Context, r registry.Record, jti string) error {
	return s.updateRecord(ctx, r, func(cur registry.Record) error { return registry.CheckGeneration(cur, jti) })
}

// updateRecord is UpdateRecord with an optional precondition on the stored record.
func (s *Store) updateRecord(ctx context.Context, r registry.Record, cond func(cur registry.Record) error) error {
	op := fmt.Sprintf("update record %q", r.ID)
	key := s.recKey(r.ID)
	var prev, next registry.Record
	claimed := "" // a name this call claimed
	found, err := s.watchRecord(ctx, op, r.ID, func(tx *goredis.Tx, cur registry.Record) error {
		if cond != nil {
			if err := cond(cur); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
		n, err := registry.ApplyUpdate(cur, r)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if registry.HoldsName(n) && (!registry.HoldsName(cur) || registry.NameKey(n.Name) != registry.NameKey(cur.Name)) &&
			(claimed == "" || registry.NameKey(claimed) != registry.NameKey(n.Name)) {
			mine, fresh, err := s.claimName(ctx, n.Owner, n.Name, n.ID)
			if err != nil {
				return unavailable(op+": claim name", err)
			}
			if !mine {
				return fmt.Errorf("%s: %w", op, registry.ErrNameTaken)
			}
			if fresh {
				claimed = n.Name
			}
		}
		b, err := encodeRecord(n)
		if err != nil {
			return fmt.Errorf("%s: encode: %w", op, err)
		}
		if _, err := tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, key, b, 0)
			return nil
		}); err != nil {
			if errors.Is(err, goredis.TxFailedErr) {
				return err
			}
			return unavailable(op, err)
		}
		prev, next = cur, n
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("%s: %w", op, registry.ErrNotFound)
	}
	if err != nil {
		if claimed != "" {
			cctx, cancel := cleanupCtx(ctx)
			defer cancel()
			if ferr := s.freeName(cctx, r.Owner, claimed, r.ID); ferr != nil {
				err = errors.Join(err, fmt.Errorf("free claimed name: %w", ferr))
			}
		}
		return err
	}
	// The record is written: from here on, failures leave stale claims or
	// expiry entries, never a wrong record.
	var errs []error
	nextKey := registry.NameKey(next.Name)
	if registry.HoldsName(prev) && (!registry.HoldsName(next) || registry.NameKey(prev.Name) != nextKey) {
		errs = append(errs, s.freeName(ctx, prev.Owner, prev.Name, r.ID))
	}
	if claimed != "" && (!registry.HoldsName(next) || registry.NameKey(claimed) != nextKey) {
		errs = append(errs, s.freeName(ctx, r.Owner, claimed, r.ID))
	}
	prevEnd, nextEnd := prev.EndedAt(), next.EndedAt()
	switch {
	case nextEnd == nil && prevEnd != nil:
		errs = append(errs, s.client.ZRem(ctx, s.recExpKey(), r.ID).Err())
	case nextEnd != nil && (prevEnd == nil || !prevEnd.Equal(*nextEnd)):
		errs = append(errs, s.client.ZAdd(ctx, s.recExpKey(), goredis.Z{Score: float64(nextEnd.UnixMilli()), Member: r.ID}).Err())
	}
	if err := errors.Join(errs...); err != nil {
		return unavailable(op+": after write", err)
	}
	return nil
}

// DeleteRecord deletes the record (WATCH/MULTI on its key, so the deleted
// version is known), then removes it from every index and deletes its log
// (one pipeline), and frees its name. ErrNotFound if absent. A failure after the record is gone leaves stale index entries,
// which listings skip, or a claimed name.
func (s *Store) DeleteRecord(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete record %q", id)
	key := s.recKey(id)
	var gone registry.Record
	found, err := s.watchRecord(ctx, op, id, func(tx *goredis.Tx, cur registry.Record) error {
		if _, err := tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Del(ctx, key)
			return nil
		}); err != nil {
			if errors.Is(err, goredis.TxFailedErr) {
				return err
			}
			return unavailable(op, err)
		}
		gone = cur
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%s: %w", op, registry.ErrNotFound)
	}
	_, err = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, k := range s.indexKeys(gone) {
			p.ZRem(ctx, k, id)
		}
		p.ZRem(ctx, s.recExpKey(), id)
		p.Del(ctx, s.recLogKey(id))
		return nil
	})
	if err != nil {
		return unavailable(op+": unindex", err)
	}
	if registry.HoldsName(gone) {
		if err := s.freeName(ctx, gone.Owner, gone.Name, id); err != nil {
			return unavailable(op+": free name", err)
		}
	}
	return nil
}

// listIndexKey picks the index ListRecords scans for f.
func (s *Store) listIndexKey(f registry.Filter) string {
	switch {
	case f.ReportID != "":
		return s.recReportKey(f.ReportID)
	case f.AppID != "":
		return s.recAppKey(f.AppID)
	case f.Owner != "":
		return s.recOwnerKey(f.Owner)
	case f.CreatedBy != "":
		return s.recCreatorKey(f.CreatedBy)
	}
	return s.recAllKey()
}

// position is a place in a listing index.
type position struct {
	score int64
	id    string
}

// maxScanBatch bounds how many index entries ListRecords reads per round trip.
const maxScanBatch = 1000

// ListRecords walks the index chosen by f (ReportID, else AppID, else Owner,
// else CreatedBy, else all) newest first from the cursor, reading the records of each batch
// of entries with one pipelined GET per record and keeping those that match
// f, until it has one more than a page (so the next cursor is "" exactly at
// the end). Entries whose record is gone are skipped.
func (s *Store) ListRecords(ctx context.Context, f registry.Filter) ([]registry.Record, string, error) {
	const op = "list records"
	limit := registry.ClampLimit(f.Limit)
	var pos *position
	if f.Cursor != "" {
		score, id, err := registry.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
		pos = &position{score, id}
	}
	key := s.listIndexKey(f)
	var (
		out  []registry.Record
		outP []position
	)
	batch := limit + 1
	for len(out) <= limit {
		entries, err := s.indexAfter(ctx, key, pos, batch)
		if err != nil {
			return nil, "", unavailable(op, err)
		}
		if len(entries) == 0 {
			break
		}
		cmds := make([]*goredis.StringCmd, len(entries))
		_, err = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, e := range entries {
				cmds[i] = p.Get(ctx, s.recKey(e.id))
			}
			return nil
		})
		if err != nil && !errors.Is(err, goredis.Nil) {
			return nil, "", unavailable(op, err)
		}
		for i, cmd := range cmds {
			b, err := cmd.Bytes()
			switch {
			case errors.Is(err, goredis.Nil):
				continue
			case err != nil:
				return nil, "", unavailable(op, err)
			}
			r, err := decodeRecord(fmt.Sprintf("%s: record %q", op, entries[i].id), b)
			if err != nil {
				return nil, "", err
			}
			if f.Match(r) {
				out = append(out, r)
				outP = append(outP, entries[i])
				if len(out) > limit {
					break
				}
			}
		}
		if len(entries) < batch {
			break
		}
		last := entries[len(entries)-1]
		pos = &last
		batch = min(2*batch, maxScanBatch)
	}
	if len(out) <= limit {
		return nonNilRecords(out), "", nil
	}
	last := outP[limit-1]
	return out[:limit], registry.EncodeCursor(last.score, last.id), nil
}

func nonNilRecords(rs []registry.Record) []registry.Record {
	if rs == nil {
		return []registry.Record{}
	}
	return rs
}

// indexAfter returns up to n entries of the index key that come after pos
// (all from the newest when pos is nil), newest first: by score descending,
// then id descending, as ZREVRANGEBYSCORE orders ties. Entries that tie with
// pos's score are read with one ZRANGEBYSCORE of that score (all of them:
// ties are rare, since scores are creation times in ms), the rest with
// ZREVRANGEBYSCORE below it; both in one MULTI on the one key.
func (s *Store) indexAfter(ctx context.Context, key string, pos *position, n int) ([]position, error) {
	if pos == nil {
		zs, err := s.client.ZRevRangeByScoreWithScores(ctx, key, &goredis.ZRangeBy{Min: "-inf", Max: "+inf", Count: int64(n)}).Result()
		if err != nil {
			return nil, err
		}
		return positions(zs), nil
	}
	at := strconv.FormatInt(pos.score, 10)
	var ties, below *goredis.ZSliceCmd
	_, err := s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		ties = p.ZRangeByScoreWithScores(ctx, key, &goredis.ZRangeBy{Min: at, Max: at})
		below = p.ZRevRangeByScoreWithScores(ctx, key, &goredis.ZRangeBy{Min: "-inf", Max: "(" + at, Count: int64(n)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []position
	tied := positions(ties.Val())
	for i := len(tied) - 1; i >= 0 && len(out) < n; i-- {
		if tied[i].id < pos.id {
			out = append(out, tied[i])
		}
	}
	for _, p := range positions(below.Val()) {
		if len(out) == n {
			break
		}
		out = append(out, p)
	}
	return out, nil
}

func positions(zs []goredis.Z) []position {
	out := make([]position, len(zs))
	for i, z := range zs {
		id, _ := z.Member.(string)
		out[i] = position{score: int64(z.Score), id: id}
	}
	return out
}

// logTieLen is the length of a log member's tie-breaker: 16 hex digits of
// the append time (ns) and 8 of randomness, so members are unique and
// entries of one millisecond list in the order they were written.
const logTieLen = 24

// logMember is the sorted-set member of entry b: its tie-breaker, then the JSON.
func logMember(appended int64, b []byte) string {
	var r [4]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails (Go 1.24+)
	return fmt.Sprintf("%016x%08x", uint64(appended), binary.BigEndian.Uint32(r[:])) + string(b)
}

// AppendLogs adds each record's entries to its log, a sorted set scored by
// event time (ZADD), so an entry written late (a batched AUTHENTICATE)
// lists where it happened; trims it to the newest registry.MaxLogs
// (ZREMRANGEBYRANK) and checks that the record exists, all in one pipeline;
// a log whose record does not exist then gets a TTL of
// registry.LogRetention (EXPIRE NX, a second pipeline, only then).
func (s *Store) AppendLogs(ctx context.Context, entries []registry.RecordLog) error {
	const op = "append logs"
	if len(entries) == 0 {
		return nil
	}
	var order []string
	byID := map[string][]goredis.Z{}
	appended := time.Now().UnixNano()
	for i, e := range entries {
		b, err := encodeLogEntry(e.Entry)
		if err != nil {
			return fmt.Errorf("%s: encode: %w", op, err)
		}
		if _, ok := byID[e.RecordID]; !ok {
			order = append(order, e.RecordID)
		}
		byID[e.RecordID] = append(byID[e.RecordID], goredis.Z{
			Score: float64(e.Entry.At.UnixMilli()), Member: logMember(appended+int64(i), b),
		})
	}
	exists := make([]*goredis.IntCmd, len(order))
	_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range order {
			p.ZAdd(ctx, s.recLogKey(id), byID[id]...)
			p.ZRemRangeByRank(ctx, s.recLogKey(id), 0, -registry.MaxLogs-1)
			exists[i] = p.Exists(ctx, s.recKey(id))
		}
		return nil
	})
	if err != nil {
		return unavailable(op, err)
	}
	var orphans []string
	for i, id := range order {
		if exists[i].Val() == 0 {
			orphans = append(orphans, id)
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	_, err = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, id := range orphans {
			p.ExpireNX(ctx, s.recLogKey(id), registry.LogRetention)
		}
		return nil
	})
	if err != nil {
		return unavailable(op+": expire orphan logs", err)
	}
	return nil
}

// logPageScript reads one page of a log, newest first: KEYS[1] the sorted
// set, ARGV[1] the page size plus one, ARGV[2] and ARGV[3] the cursor's
// score and member ("" for the first page). Entries tied with the cursor's
// score come first, those whose member sorts below the cursor's
// tie-breaker (ZRANGEBYSCORE of that one score, read backwards; the
// cursor's own entry, which starts with it, sorts above), then those below
// it (ZREVRANGEBYSCORE). Returns member, score pairs. Members compare
// bytewise (Redis runs Lua in the C locale).
var logPageScript = goredis.NewScript(`
local n = tonumber(ARGV[1])
if ARGV[2] == '' then
	return redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, n)
end
local out = {}
local ties = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[2], 'WITHSCORES')
for i = #ties - 1, 1, -2 do
	if #out >= 2 * n then return out end
	if ties[i] < ARGV[3] then
		out[#out + 1] = ties[i]
		out[#out + 1] = ties[i + 1]
	end
end
local left = n - #out / 2
if left <= 0 then return out end
local rest = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '-inf', 'WITHSCORES', 'LIMIT', 0, left)
for i = 1, #rest do out[#out + 1] = rest[i] end
return out
`)

// ListLogs returns one page of id's log, newest first by event time, with
// one script on the log's key, and the next cursor (the position of the
// page's last entry).
func (s *Store) ListLogs(ctx context.Context, id string, limit int, cursor string) ([]registry.LogEntry, string, error) {
	op := fmt.Sprintf("list logs %q", id)
	limit = registry.ClampLimit(limit)
	cScore, cMember := "", ""
	if cursor != "" {
		ms, tie, err := registry.DecodeLogCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
		cScore, cMember = strconv.FormatInt(ms, 10), tie
	}
	raw, err := logPageScript.Run(ctx, s.client, []string{s.recLogKey(id)}, limit+1, cScore, cMember).StringSlice()
	if err != nil {
		return nil, "", unavailable(op, err)
	}
	out := make([]registry.LogEntry, 0, min(len(raw)/2, limit))
	next := ""
	for i := 0; i+1 < len(raw); i += 2 {
		member := raw[i]
		if len(member) <= logTieLen {
			return nil, "", fmt.Errorf("%s: malformed entry", op)
		}
		if len(out) == limit {
			last := raw[i-2]
			score, err := strconv.ParseFloat(raw[i-1], 64)
			if err != nil {
				return nil, "", fmt.Errorf("%s: malformed score: %w", op, err)
			}
			next = registry.EncodeLogCursor(int64(score), last[:logTieLen])
			break
		}
		e, err := decodeLogEntry([]byte(member[logTieLen:]))
		if err != nil {
			return nil, "", fmt.Errorf("%s: decode entry: %w", op, err)
		}
		out = append(out, e)
	}
	return out, next, nil
}

// MarkUsed applies each record's latest use (registry.ApplyUse) in one
// optimistic transaction on its key (WATCH/GET/MULTI SET); records that do
// not exist are skipped.
func (s *Store) MarkUsed(ctx context.Context, uses []registry.Use) error {
	latest := map[string]time.Time{}
	var order []string
	for _, u := range uses {
		cur, ok := latest[u.RecordID]
		if !ok {
			order = append(order, u.RecordID)
		}
		if !ok || u.At.After(cur) {
			latest[u.RecordID] = u.At
		}
	}
	slices.Sort(order)
	for _, id := range order {
		op := fmt.Sprintf("mark record %q used", id)
		key := s.recKey(id)
		_, err := s.watchRecord(ctx, op, id, func(tx *goredis.Tx, cur registry.Record) error {
			if !registry.ApplyUse(&cur, latest[id]) {
				return nil
			}
			b, err := encodeRecord(cur)
			if err != nil {
				return fmt.Errorf("%s: encode: %w", op, err)
			}
			_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.Set(ctx, key, b, 0)
				return nil
			})
			if err != nil && !errors.Is(err, goredis.TxFailedErr) {
				return unavailable(op, err)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SetRole grants (SADD) or withdraws (SREM) role from owner.
func (s *Store) SetRole(ctx context.Context, owner, role string, granted bool) error {
	var err error
	if granted {
		err = s.client.SAdd(ctx, s.roleKey(role), owner).Err()
	} else {
		err = s.client.SRem(ctx, s.roleKey(role), owner).Err()
	}
	if err != nil {
		return unavailable(fmt.Sprintf("set role %q of %q", role, owner), err)
	}
	return nil
}

// HasRole reports whether owner holds role (SISMEMBER).
func (s *Store) HasRole(ctx context.Context, owner, role string) (bool, error) {
	ok, err := s.client.SIsMember(ctx, s.roleKey(role), owner).Result()
	if err != nil {
		return false, unavailable(fmt.Sprintf("check role %q of %q", role, owner), err)
	}
	return ok, nil
}

// EndedBefore returns up to limit ids (all when limit <= 0) whose EndedAt
// is at or before t, earliest first (ZRANGEBYSCORE on recexp).
func (s *Store) EndedBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	ids, err := s.client.ZRangeByScore(ctx, s.recExpKey(), &goredis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(t.UnixMilli(), 10), Count: int64(max(limit, 0)),
	}).Result()
	if err != nil {
		return nil, unavailable("list ended records", err)
	}
	return ids, nil
}

// failScript counts one failure: KEYS[1] the counter, ARGV[1] the window in
// ms. The first failure (or a counter that lost its TTL) starts the window.
var failScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
`)

// CountFailure counts one failure of key (INCR, and PEXPIRE window on the
// first, in one script on the counter's key) and returns the count in the
// current window.
func (s *Store) CountFailure(ctx context.Context, key string, window time.Duration) (int64, error) {
	ms := max(int64((window+time.Millisecond-1)/time.Millisecond), 1)
	n, err := failScript.Run(ctx, s.client, []string{s.failKey(key)}, ms).Int64()
	if err != nil {
		return 0, unavailable(fmt.Sprintf("count failure of %q", key), err)
	}
	return n, nil
}
