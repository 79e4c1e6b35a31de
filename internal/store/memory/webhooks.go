package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/sigil-dev/sigil/internal/notify/webhook"
)

var _ webhook.Store = (*Webhooks)(nil)

// Webhooks keeps webhook endpoints in process (lost on exit).
type Webhooks struct {
	mu  sync.RWMutex
	eps map[string]webhook.Endpoint
}

// NewWebhooks returns an empty endpoint store.
func NewWebhooks() *Webhooks { return &Webhooks{eps: map[string]webhook.Endpoint{}} }

func cloneEndpoint(e webhook.Endpoint) webhook.Endpoint {
	e.Events = slices.Clone(e.Events)
	e.Secrets = slices.Clone(e.Secrets)
	return e
}

// CreateWebhook implements webhook.Store.
func (w *Webhooks) CreateWebhook(_ context.Context, e webhook.Endpoint) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.eps[e.ID] = cloneEndpoint(e)
	return nil
}

// GetWebhook implements webhook.Store.
func (w *Webhooks) GetWebhook(_ context.Context, id string) (webhook.Endpoint, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	e, ok := w.eps[id]
	if !ok {
		return webhook.Endpoint{}, webhook.ErrNotFound
	}
	return cloneEndpoint(e), nil
}

// ListWebhooks implements webhook.Store.
func (w *Webhooks) ListWebhooks(context.Context) ([]webhook.Endpoint, error) {
	w.mu.RLock()
	out := make([]webhook.Endpoint, 0, len(w.eps))
	for _, e := range w.eps {
		out = append(out, cloneEndpoint(e))
	}
	w.mu.RUnlock()
	slices.SortFunc(out, func(a, b webhook.Endpoint) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// UpdateWebhook implements webhook.Store.
func (w *Webhooks) UpdateWebhook(_ context.Context, e webhook.Endpoint) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.eps[e.ID]; !ok {
		return webhook.ErrNotFound
	}
	w.eps[e.ID] = cloneEndpoint(e)
	return nil
}

// DeleteWebhook implements webhook.Store.
func (w *Webhooks) DeleteWebhook(_ context.Context, id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.eps[id]; !ok {
		return webhook.ErrNotFound
	}
	delete(w.eps, id)
	return nil
}
