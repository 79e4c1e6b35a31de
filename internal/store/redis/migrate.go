package redis

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/registry"
)

// registryLayout is the layout of the registry keys this code reads and
// writes (see the key list in registry.go): 2 since issue 14, which added
// the creator index and made name claims case-insensitive and API-only
// (apiname:…, replacing layout 1's recname:…); 3 since the name claims
// are keyed by registry.NameKey's NFKC case fold rather than lower case
// (the same key for ASCII names; a non-ASCII name's layout-2 claim is
// moved).
const registryLayout = 3

// migrateBatch is how many records MigrateRegistry reads per round trip.
const migrateBatch = 500

// casDelSource is casDelScript's source, for pipelines (EVAL).
const casDelSource = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`

// MigrateRegistry brings the registry keys of an older sigil to
// registryLayout, once (<prefix>reglayout records it): every record is
// added to the index of its creator; every live API token claims its name
// in the new, case-insensitive form (SET NX: of two names of one owner
// that differ only in case, the first claims it and the other holds none);
// every layout-1 claim a record holds is freed, and so is a layout-2 claim
// (lower case) that is not the record's NameKey. Each command touches one
// key (Cluster); it is idempotent, so several instances starting at once,
// or a run cut short and started again, do no harm. It returns how many
// records it visited.
func (s *Store) MigrateRegistry(ctx context.Context) (int, error) {
	const op = "migrate registry"
	v, err := s.client.Get(ctx, s.layoutKey()).Int()
	switch {
	case err == nil && v >= registryLayout:
		return 0, nil
	case err != nil && !errors.Is(err, goredis.Nil):
		return 0, unavailable(op, err)
	}
	visited := 0
	for start := int64(0); ; start += migrateBatch {
		ids, err := s.client.ZRange(ctx, s.recAllKey(), start, start+migrateBatch-1).Result()
		if err != nil {
			return visited, unavailable(op, err)
		}
		if len(ids) == 0 {
			break
		}
		cmds := make([]*goredis.StringCmd, len(ids))
		if _, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.Get(ctx, s.recKey(id))
			}
			return nil
		}); err != nil && !errors.Is(err, goredis.Nil) {
			return visited, unavailable(op, err)
		}
		var recs []registry.Record
		for i, cmd := range cmds {
			b, err := cmd.Bytes()
			switch {
			case errors.Is(err, goredis.Nil):
				continue // a stale index entry
			case err != nil:
				return visited, unavailable(op, err)
			}
			r, err := decodeRecord(fmt.Sprintf("%s: record %q", op, ids[i]), b)
			if err != nil {
				return visited, err
			}
			recs = append(recs, r)
		}
		if _, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, r := range recs {
				if r.CreatedBy != "" {
					p.ZAdd(ctx, s.recCreatorKey(r.CreatedBy), goredis.Z{Score: float64(r.Score()), Member: r.ID})
				}
				if registry.HoldsName(r) {
					p.SetNX(ctx, s.recNameKey(r.Owner, r.Name), r.ID, 0)
				}
				p.Eval(ctx, casDelSource, []string{s.legacyNameKey(r.Owner, r.Name)}, r.ID)
				if l2 := s.layout2NameKey(r.Owner, r.Name); l2 != s.recNameKey(r.Owner, r.Name) {
					p.Eval(ctx, casDelSource, []string{l2}, r.ID)
				}
			}
			return nil
		}); err != nil {
			return visited, unavailable(op, err)
		}
		visited += len(recs)
		if len(ids) < migrateBatch {
			break
		}
	}
	if err := s.client.Set(ctx, s.layoutKey(), registryLayout, 0).Err(); err != nil {
		return visited, unavailable(op, err)
	}
	return visited, nil
}
