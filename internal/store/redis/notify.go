package redis

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/registry"
)

// Notification keys (issue #15), one key per command like the others:
//
//	<prefix>owneremail                     hash owner -> email address
//	<prefix>notify:cursor:<name>           the expiry scanner's cursor "<ms>:<id>"
//	<prefix>notify:sent:<key>              a sent mark, TTL = its retention
//	<prefix>notify:lease:<name>            a lease: the holder's value, TTL = the lease
func (s *Store) ownerEmailKey() string            { return s.prefix + "owneremail" }
func (s *Store) scanCursorKey(name string) string { return s.prefix + "notify:cursor:" + name }
func (s *Store) sentKey(key string) string        { return s.prefix + "notify:sent:" + key }
func (s *Store) leaseKey(name string) string      { return s.prefix + "notify:lease:" + name }

// maybeUnavailable is unavailable for a failure, nil for none.
func maybeUnavailable(op string, err error) error {
	if err == nil {
		return nil
	}
	return unavailable(op, err)
}

// SetOwnerEmail stores owner's address; "" removes it.
func (s *Store) SetOwnerEmail(ctx context.Context, owner, email string) error {
	var err error
	if email == "" {
		err = s.client.HDel(ctx, s.ownerEmailKey(), owner).Err()
	} else {
		err = s.client.HSet(ctx, s.ownerEmailKey(), owner, email).Err()
	}
	return maybeUnavailable("set owner email", err)
}

// OwnerEmail returns owner's address, "" when none.
func (s *Store) OwnerEmail(ctx context.Context, owner string) (string, error) {
	v, err := s.client.HGet(ctx, s.ownerEmailKey(), owner).Result()
	if errors.Is(err, goredis.Nil) {
		return "", nil
	}
	return v, maybeUnavailable("get owner email", err)
}

// ExpiringAfter reads the expiry index (the recexp sorted set, scored by
// expiresAt in Unix ms; ties in member order) from after, exclusive, to
// until, inclusive: ZRANGEBYSCORE from after's score, skipping the ties at
// that score up to after's id.
func (s *Store) ExpiringAfter(ctx context.Context, after registry.ExpiryPos, until time.Time, limit int) ([]registry.ExpiryPos, error) {
	if limit <= 0 {
		limit = 500
	}
	minMs, maxMs := after.At.UnixMilli(), until.UnixMilli()
	if maxMs < minMs {
		return nil, nil
	}
	var out []registry.ExpiryPos
	for offset := int64(0); len(out) < limit; {
		zs, err := s.client.ZRangeByScoreWithScores(ctx, s.recExpKey(), &goredis.ZRangeBy{
			Min: strconv.FormatInt(minMs, 10), Max: strconv.FormatInt(maxMs, 10), Offset: offset, Count: int64(limit),
		}).Result()
		if err != nil {
			return nil, maybeUnavailable("read expiry index", err)
		}
		for _, z := range zs {
			id, _ := z.Member.(string)
			p := registry.ExpiryPos{At: time.UnixMilli(int64(z.Score)).UTC(), ID: id}
			if p.At.UnixMilli() == minMs && id <= after.ID {
				continue
			}
			if len(out) < limit {
				out = append(out, p)
			}
		}
		if len(zs) < limit {
			break
		}
		offset += int64(len(zs))
	}
	return out, nil
}

// ScanCursor returns the cursor stored under name, false when none.
func (s *Store) ScanCursor(ctx context.Context, name string) (registry.ExpiryPos, bool, error) {
	v, err := s.client.Get(ctx, s.scanCursorKey(name)).Result()
	if errors.Is(err, goredis.Nil) {
		return registry.ExpiryPos{}, false, nil
	}
	if err != nil {
		return registry.ExpiryPos{}, false, maybeUnavailable("read scan cursor", err)
	}
	ms, id, ok := strings.Cut(v, ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		return registry.ExpiryPos{}, false, nil // unreadable: start anew
	}
	return registry.ExpiryPos{At: time.UnixMilli(n).UTC(), ID: id}, true, nil
}

// SetScanCursor stores the cursor under name.
func (s *Store) SetScanCursor(ctx context.Context, name string, pos registry.ExpiryPos) error {
	v := strconv.FormatInt(pos.At.UnixMilli(), 10) + ":" + pos.ID
	return maybeUnavailable("write scan cursor", s.client.Set(ctx, s.scanCursorKey(name), v, 0).Err())
}

// Marked reports whether the sent mark key is set.
func (s *Store) Marked(ctx context.Context, key string) (bool, error) {
	n, err := s.client.Exists(ctx, s.sentKey(key)).Result()
	return n == 1, maybeUnavailable("read sent mark", err)
}

// Mark sets the sent mark key for ttl.
func (s *Store) Mark(ctx context.Context, key string, ttl time.Duration) error {
	return maybeUnavailable("write sent mark", s.client.Set(ctx, s.sentKey(key), "1", ttl).Err())
}

// AcquireLease takes the lease name for holder (SET NX PX); it reports
// whether holder has it, also when holder had it already (then renewed).
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	ok, err := s.client.SetNX(ctx, s.leaseKey(name), holder, ttl).Result()
	if err != nil {
		return false, maybeUnavailable("acquire lease", err)
	}
	if ok {
		return true, nil
	}
	return s.RenewLease(ctx, name, holder, ttl)
}

// renewScript extends KEYS[1]'s TTL to ARGV[2] ms only if it holds ARGV[1]
// (fencing by value: a holder whose lease expired and was taken never
// extends the new holder's).
var renewScript = goredis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// RenewLease extends holder's lease by ttl; false if holder no longer has it.
func (s *Store) RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, s.client, []string{s.leaseKey(name)}, holder, ttl.Milliseconds()).Int64()
	if err != nil {
		return false, maybeUnavailable("renew lease", err)
	}
	return n == 1, nil
}

// ReleaseLease deletes the lease only if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return maybeUnavailable("release lease", casDelScript.Run(ctx, s.client, []string{s.leaseKey(name)}, holder).Err())
}
