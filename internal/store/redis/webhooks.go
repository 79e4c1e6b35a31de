package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/notify/webhook"
)

var _ webhook.Store = (*Webhooks)(nil)

// Webhooks keeps webhook endpoints in Redis:
//
//	<prefix>webhook:<id>  string: the endpoint as JSON (its secrets included)
//	<prefix>webhooks      set: the endpoint ids
//
// One key per command (Cluster-safe): an endpoint is written before it is
// indexed and unindexed after it is deleted; listings skip ids whose
// record is gone.
type Webhooks struct {
	client goredis.UniversalClient
	prefix string
}

// NewWebhooks returns the endpoint store under prefix (DefaultPrefix if empty).
func NewWebhooks(client goredis.UniversalClient, prefix string) *Webhooks {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Webhooks{client: client, prefix: prefix}
}

// Webhooks returns the webhook endpoint store on the same client and prefix.
func (s *Store) Webhooks() *Webhooks { return NewWebhooks(s.client, s.prefix) }

func (w *Webhooks) key(id string) string { return w.prefix + "webhook:" + id }
func (w *Webhooks) index() string        { return w.prefix + "webhooks" }

// CreateWebhook implements webhook.Store.
func (w *Webhooks) CreateWebhook(ctx context.Context, e webhook.Endpoint) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode webhook: %w", err)
	}
	if err := w.client.Set(ctx, w.key(e.ID), b, 0).Err(); err != nil {
		return unavailable("create webhook", err)
	}
	if err := w.client.SAdd(ctx, w.index(), e.ID).Err(); err != nil {
		_ = w.client.Del(ctx, w.key(e.ID)).Err()
		return unavailable("create webhook", err)
	}
	return nil
}

// GetWebhook implements webhook.Store.
func (w *Webhooks) GetWebhook(ctx context.Context, id string) (webhook.Endpoint, error) {
	raw, err := w.client.Get(ctx, w.key(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return webhook.Endpoint{}, webhook.ErrNotFound
	}
	if err != nil {
		return webhook.Endpoint{}, unavailable("get webhook", err)
	}
	var e webhook.Endpoint
	if err := json.Unmarshal(raw, &e); err != nil {
		return webhook.Endpoint{}, fmt.Errorf("decode webhook %s: %w", id, err)
	}
	return e, nil
}

// ListWebhooks implements webhook.Store.
func (w *Webhooks) ListWebhooks(ctx context.Context) ([]webhook.Endpoint, error) {
	ids, err := w.client.SMembers(ctx, w.index()).Result()
	if err != nil {
		return nil, unavailable("list webhooks", err)
	}
	out := make([]webhook.Endpoint, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pipe := w.client.Pipeline()
	cmds := make([]*goredis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Get(ctx, w.key(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, unavailable("list webhooks", err)
	}
	for _, c := range cmds {
		raw, err := c.Bytes()
		if err != nil {
			continue // unindexed after a crash between the two writes
		}
		var e webhook.Endpoint
		if json.Unmarshal(raw, &e) == nil {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b webhook.Endpoint) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// UpdateWebhook implements webhook.Store.
func (w *Webhooks) UpdateWebhook(ctx context.Context, e webhook.Endpoint) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode webhook: %w", err)
	}
	ok, err := w.client.SetXX(ctx, w.key(e.ID), b, goredis.KeepTTL).Result()
	if err != nil {
		return unavailable("update webhook", err)
	}
	if !ok {
		return webhook.ErrNotFound
	}
	return nil
}

// DeleteWebhook implements webhook.Store.
func (w *Webhooks) DeleteWebhook(ctx context.Context, id string) error {
	n, err := w.client.Del(ctx, w.key(id)).Result()
	if err != nil {
		return unavailable("delete webhook", err)
	}
	_ = w.client.SRem(ctx, w.index(), id).Err()
	if n == 0 {
		return webhook.ErrNotFound
	}
	return nil
}
