package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/revocation"
	revredis "github.com/sigil-dev/sigil/internal/revocation/redis"
)

// Store implements the client and revocation stores (and, in registry.go
// and sync.go, the registry's and the replica's); interfaces that packages
// above the domain declare, such as httpapi.FailureCounter, are asserted in
// interfaces_test.go, so that this package never imports them.
var (
	_ clients.Store        = (*Store)(nil)
	_ revocation.SyncStore = (*Store)(nil)
)

// DefaultPrefix is the key prefix New uses when given an empty one.
const DefaultPrefix = revredis.DefaultPrefix

// Store keeps client records, registry records, the denylist and cutoffs in
// Redis under a key prefix:
//
//	<prefix>client:<id>  string: the client record as JSON (clientV1, format.go)
//	<prefix>clients      set: the ids of all clients (an index for ListClients)
//
// the registry keys of registry.go, and the revocation keys of
// internal/revocation/redis, whose Store it embeds (deny:<id>, the
// denylist index denyidx:{<tag>} and denylayout, cutoff:<key>, cutoffs,
// events, epoch): one implementation of the revocation state, which the Go
// verifier reads with go-redis alone.
//
// Every command touches exactly one key (but for a denylist entry and its
// index member, written by one script in one Cluster slot), so a Cluster
// needs no hash tags of ours; pipelines are split by node, and SCAN runs
// on every master.
// Keys hold ids only, never token text.
type Store struct {
	*revStore
	client goredis.UniversalClient
	prefix string
	now    func() time.Time
	revOpt []revredis.Option
}

// revStore names the embedded revocation store without exporting the field.
type revStore = revredis.Store

// Option configures a Store.
type Option func(*Store)

// WithNow sets the clock that Deny uses to turn an expiry into a TTL
// (default time.Now).
func WithNow(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// WithReplicas makes every revocation write wait for n replicas to confirm
// it, for up to timeout (revocation/redis.WithReplicas).
func WithReplicas(n int, timeout time.Duration) Option {
	return func(s *Store) { s.revOpt = append(s.revOpt, revredis.WithReplicas(n, timeout)) }
}

// New returns a Store that keeps its keys under prefix (DefaultPrefix when
// empty) in client. The caller owns client and closes it.
func New(client goredis.UniversalClient, prefix string, opts ...Option) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	s := &Store{client: client, prefix: prefix, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.revStore = revredis.New(client, prefix, append([]revredis.Option{revredis.WithNow(s.now)}, s.revOpt...)...)
	return s
}

func (s *Store) clientKey(id string) string { return s.prefix + "client:" + id }
func (s *Store) indexKey() string           { return s.prefix + "clients" }

// unavailable wraps a Redis failure of op so that errors.Is finds both
// apperr.ErrStoreUnavailable (= revocation.ErrUnavailable) and the cause.
func unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, apperr.ErrStoreUnavailable, err)
}

// CreateClient stores c unless its id is taken (SET NX, atomic), then adds
// the id to the index. It returns an error wrapping clients.ErrAlreadyExists
// if the id is taken, and one wrapping apperr.ErrStoreUnavailable if Redis
// fails; if indexing fails the record is removed again (best effort).
func (s *Store) CreateClient(ctx context.Context, c clients.Client) error {
	op := fmt.Sprintf("create client %q", c.ID)
	b, err := encodeClient(c)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", op, err)
	}
	created, err := s.client.SetNX(ctx, s.clientKey(c.ID), b, 0).Result()
	if err != nil {
		return unavailable(op, err)
	}
	// Index the id even when the record already existed: that repairs a
	// record left out of the index by an earlier failure, and adding a
	// member twice is harmless.
	if err := s.client.SAdd(ctx, s.indexKey(), c.ID).Err(); err != nil {
		if created {
			rollback, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			if derr := s.client.Del(rollback, s.clientKey(c.ID)).Err(); derr != nil {
				err = errors.Join(err, fmt.Errorf("remove unindexed record: %w", derr))
			}
		}
		return unavailable(op+": index", err)
	}
	if !created {
		return fmt.Errorf("%s: %w", op, clients.ErrAlreadyExists)
	}
	return nil
}

// GetClient returns the client with id; an error wrapping clients.ErrNotFound
// if there is none, or apperr.ErrStoreUnavailable if Redis fails.
func (s *Store) GetClient(ctx context.Context, id string) (clients.Client, error) {
	op := fmt.Sprintf("get client %q", id)
	b, err := s.client.Get(ctx, s.clientKey(id)).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		return clients.Client{}, fmt.Errorf("%s: %w", op, clients.ErrNotFound)
	case err != nil:
		return clients.Client{}, unavailable(op, err)
	}
	return decodeClient(op, b)
}

// ListClients returns every client ordered by ID: the index's members, each
// read with its own GET (pipelined). Members whose record has vanished (a
// delete that failed half-way or is in progress) are skipped.
func (s *Store) ListClients(ctx context.Context) ([]clients.Client, error) {
	const op = "list clients"
	ids, err := s.client.SMembers(ctx, s.indexKey()).Result()
	if err != nil {
		return nil, unavailable(op, err)
	}
	out := make([]clients.Client, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cmds := make([]*goredis.StringCmd, len(ids))
	_, err = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.clientKey(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, unavailable(op, err)
	}
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		switch {
		case errors.Is(err, goredis.Nil):
			continue
		case err != nil:
			return nil, unavailable(op, err)
		}
		c, err := decodeClient(fmt.Sprintf("%s: client %q", op, ids[i]), b)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b clients.Client) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// UpdateClient replaces the record with c.ID (SET XX, atomic); an error
// wrapping clients.ErrNotFound if there is none, or
// apperr.ErrStoreUnavailable if Redis fails.
func (s *Store) UpdateClient(ctx context.Context, c clients.Client) error {
	op := fmt.Sprintf("update client %q", c.ID)
	b, err := encodeClient(c)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", op, err)
	}
	ok, err := s.client.SetXX(ctx, s.clientKey(c.ID), b, 0).Result()
	if err != nil {
		return unavailable(op, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", op, clients.ErrNotFound)
	}
	if err := s.client.SAdd(ctx, s.indexKey(), c.ID).Err(); err != nil {
		return unavailable(op+": index", err)
	}
	return nil
}

// DeleteClient removes the record, then its index entry; an error wrapping
// clients.ErrNotFound if there was no record, or apperr.ErrStoreUnavailable
// if Redis fails. A failure after the record is gone leaves at most a stale
// index member, which ListClients skips.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete client %q", id)
	n, err := s.client.Del(ctx, s.clientKey(id)).Result()
	if err != nil {
		return unavailable(op, err)
	}
	if err := s.client.SRem(ctx, s.indexKey(), id).Err(); err != nil {
		return unavailable(op+": index", err)
	}
	// A CreateClient of the same id may have run between DEL and SREM, its
	// SADD then undone by our SREM: put the id back if a record exists again.
	again, err := s.client.Exists(ctx, s.clientKey(id)).Result()
	if err != nil {
		return unavailable(op+": index", err)
	}
	if again > 0 {
		if err := s.client.SAdd(ctx, s.indexKey(), id).Err(); err != nil {
			return unavailable(op+": index", err)
		}
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, clients.ErrNotFound)
	}
	return nil
}
