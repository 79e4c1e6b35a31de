package notifytest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/notify/webhook"
)

// RunWebhooks runs the contract of a webhook.Store against stores made by
// newStore (each call a fresh, empty one).
func RunWebhooks(t *testing.T, newStore func(t *testing.T) webhook.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	ep := func(id string, at time.Time) webhook.Endpoint {
		return webhook.Endpoint{ID: id, URL: "https://hooks.example.com/" + id, Events: []string{"token.created"},
			Secrets: []webhook.Secret{{Value: "whsec_AAAA"}}, CreatedAt: at}
	}
	st := newStore(t)
	list, err := st.ListWebhooks(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	require.NoError(t, st.CreateWebhook(ctx, ep("wh_b", t0.Add(time.Second))))
	require.NoError(t, st.CreateWebhook(ctx, ep("wh_a", t0)))
	got, err := st.GetWebhook(ctx, "wh_a")
	require.NoError(t, err)
	assert.Equal(t, ep("wh_a", t0), got)
	_, err = st.GetWebhook(ctx, "wh_none")
	require.ErrorIs(t, err, webhook.ErrNotFound)

	list, err = st.ListWebhooks(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "wh_a", list[0].ID, "oldest first")

	until := t0.Add(time.Hour)
	got.Secrets = []webhook.Secret{{Value: "whsec_BBBB"}, {Value: "whsec_AAAA", ExpiresAt: &until}}
	require.NoError(t, st.UpdateWebhook(ctx, got))
	again, err := st.GetWebhook(ctx, "wh_a")
	require.NoError(t, err)
	assert.Equal(t, []string{"whsec_BBBB", "whsec_AAAA"}, again.Signing(t0))
	assert.Equal(t, []string{"whsec_BBBB"}, again.Signing(until), "a rotated-out secret stops at its expiry")
	require.ErrorIs(t, st.UpdateWebhook(ctx, ep("wh_none", t0)), webhook.ErrNotFound)

	require.NoError(t, st.DeleteWebhook(ctx, "wh_a"))
	require.ErrorIs(t, st.DeleteWebhook(ctx, "wh_a"), webhook.ErrNotFound)
	_, err = st.GetWebhook(ctx, "wh_a")
	require.ErrorIs(t, err, webhook.ErrNotFound)
	list, err = st.ListWebhooks(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "wh_b", list[0].ID)
}
