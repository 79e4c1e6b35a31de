package registry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/memory"
)

// emitterFunc is a per-test notify.Emitter.
type emitterFunc func(ctx context.Context, events ...notify.Event) error

func (f emitterFunc) Emit(ctx context.Context, events ...notify.Event) error {
	return f(ctx, events...)
}

// TestService_NoChangeWithoutItsEvent: the event is written first; an
// outbox that fails fails the operation before anything changes.
func TestService_NoChangeWithoutItsEvent(t *testing.T) {
	ctx := context.Background()
	fail := false
	var got []notify.Event
	f := newFixture(t, func(c *registry.ServiceConfig) {
		c.Events = emitterFunc(func(_ context.Context, events ...notify.Event) error {
			if fail {
				return fmt.Errorf("outbox: %w", apperr.ErrStoreUnavailable)
			}
			got = append(got, events...)
			return nil
		})
	})
	admin := registry.Caller{ID: "admin", Admin: true}
	f.grant(t, "alice")
	rec, jwt, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: "api", Owner: "alice", Name: "ci", Scopes: []string{"meta:read"}})
	require.NoError(t, err)
	require.NotEmpty(t, jwt)

	fail = true
	_, _, err = f.svc.Create(ctx, admin, registry.CreateInput{Type: "api", Owner: "alice", Name: "second", Scopes: []string{"meta:read"}})
	require.ErrorIs(t, err, apperr.ErrStoreUnavailable)
	list, _, err := f.svc.List(ctx, admin, registry.Filter{Owner: "alice"})
	require.NoError(t, err)
	assert.Len(t, list, 1, "no record without its event")

	_, _, err = f.svc.Generate(ctx, admin, rec.ID)
	require.ErrorIs(t, err, apperr.ErrStoreUnavailable)
	_, err = f.ver.Verify(ctx, jwt)
	assert.NoError(t, err, "the JWT was not replaced nor denied")

	require.ErrorIs(t, f.svc.Delete(ctx, admin, rec.ID), apperr.ErrStoreUnavailable)
	_, err = f.svc.Get(ctx, admin, rec.ID)
	require.NoError(t, err, "the record was not revoked")
	_, err = f.ver.Verify(ctx, jwt)
	assert.NoError(t, err)

	require.ErrorIs(t, f.svc.SetRole(ctx, "alice", false), apperr.ErrStoreUnavailable)
	has, err := f.store.HasRole(ctx, "alice", registry.RoleAPITokens)
	require.NoError(t, err)
	assert.True(t, has, "the role was not withdrawn")

	fail = false
	require.NoError(t, f.svc.Delete(ctx, admin, rec.ID))
	var types []string
	for _, e := range got {
		types = append(types, e.Type)
		assert.NotContains(t, fmt.Sprint(e), jwt, "an event never carries the JWT")
	}
	assert.Equal(t, []string{notify.RoleGranted, notify.TokenCreated, notify.TokenGenerated, notify.TokenRevoked}, types)
	assert.Equal(t, "delete", got[3].Data["how"])
	assert.Equal(t, "admin", got[3].Actor)
}

func TestConfirmer_Confirm(t *testing.T) {
	ctx := context.Background()
	var got []notify.Event
	f := newFixture(t, func(c *registry.ServiceConfig) {
		c.Events = emitterFunc(func(_ context.Context, events ...notify.Event) error { got = append(got, events...); return nil })
	})
	conf := registry.NewConfirmer(f.store)
	admin := registry.Caller{ID: "admin", Admin: true}
	f.grant(t, "alice")
	got = nil
	rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: "api", Owner: "alice", Name: "a", Scopes: []string{"meta:read"}})
	require.NoError(t, err)
	for _, e := range got {
		ok, err := conf.Confirm(ctx, e)
		require.NoError(t, err)
		assert.True(t, ok, e.Type)
	}
	// A creation that failed (its name taken) leaves events no store confirms.
	got = nil
	_, _, err = f.svc.Create(ctx, admin, registry.CreateInput{Type: "api", Owner: "alice", Name: "A", Scopes: []string{"meta:read"}})
	require.Error(t, err, "API token names are unique per owner, ignoring case")
	require.NotEmpty(t, got)
	for _, e := range got {
		ok, err := conf.Confirm(ctx, e)
		require.NoError(t, err)
		assert.False(t, ok, e.Type)
	}
	// A revocation is confirmed once the record is revoked (or gone).
	got = nil
	require.NoError(t, f.svc.Delete(ctx, admin, rec.ID))
	require.Len(t, got, 1)
	ok, err := conf.Confirm(ctx, got[0])
	require.NoError(t, err)
	assert.True(t, ok)
	// A role event is confirmed by the role's state.
	ok, err = conf.Confirm(ctx, notify.Event{Type: notify.RoleGranted, Owner: "nobody"})
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = conf.Confirm(ctx, notify.Event{Type: notify.RoleWithdrawn, Owner: "nobody"})
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = conf.Confirm(ctx, notify.Event{Type: notify.TokenExpiring})
	require.NoError(t, err)
	assert.True(t, ok, "events that report no change are confirmed")
}

// TestBurstWatcher_OneEventPerWindow: the threshold-th failure within a
// window emits one token.auth_failures; more failures in that window emit
// nothing; a flood is counted at most threshold times per flush.
func TestBurstWatcher_OneEventPerWindow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	admin := registry.Caller{ID: "admin", Admin: true}
	rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: "report", ReportID: "r1", Name: "a"})
	require.NoError(t, err)
	var got []notify.Event
	counted := 0
	st := failureCounting{Registry: f.store, n: &counted}
	w := registry.NewBurstWatcher(st, emitterFunc(func(_ context.Context, e ...notify.Event) error { got = append(got, e...); return nil }), 5, windowMinute, f.clk.Now)
	require.NoError(t, w.Failed(ctx, rec.ID, 3))
	assert.Empty(t, got)
	require.NoError(t, w.Failed(ctx, rec.ID, 10_000))
	require.Len(t, got, 1)
	assert.Equal(t, notify.TokenAuthFailures, got[0].Type)
	assert.Equal(t, "5", got[0].Data["failures"])
	assert.LessOrEqual(t, counted, 10, "a flood is not counted one by one")
	require.NoError(t, w.Failed(ctx, rec.ID, 100))
	assert.Len(t, got, 1, "one event per window")
	f.clk.Advance(windowMinute + 1)
	require.NoError(t, w.Failed(ctx, rec.ID, 5))
	assert.Len(t, got, 2, "the next window reports again")
	assert.NotEqual(t, got[0].ID, got[1].ID)
	assert.Nil(t, registry.NewBurstWatcher(st, nil, 5, windowMinute, nil), "no emitter: no watcher")
	assert.Nil(t, registry.NewBurstWatcher(st, got0(), 0, windowMinute, nil), "threshold 0: off")
	require.NoError(t, w.Failed(ctx, "no-such-record", 50), "a record that is gone emits nothing")
	assert.Len(t, got, 2)
}

const windowMinute = time.Minute

func got0() notify.Emitter {
	return emitterFunc(func(context.Context, ...notify.Event) error { return nil })
}

type failureCounting struct {
	*memory.Registry
	n *int
}

func (s failureCounting) CountFailure(ctx context.Context, key string, window time.Duration) (int64, error) {
	*s.n++
	return s.Registry.CountFailure(ctx, key, window)
}

// TestRecorder_BurstWorkPerFlushIsBounded: failures spread over many
// tokens in one flush are counted for at most 64 of them.
func TestRecorder_BurstWorkPerFlushIsBounded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	admin := registry.Caller{ID: "admin", Admin: true}
	var ids []string
	for i := range 200 {
		rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: "report", ReportID: fmt.Sprintf("r%d", i), Name: "a"})
		require.NoError(t, err)
		ids = append(ids, rec.ID)
	}
	var got []notify.Event
	rec := registry.NewRecorder(f.store, 1000, time.Hour)
	rec.WatchFailures(registry.NewBurstWatcher(f.store, emitterFunc(func(_ context.Context, e ...notify.Event) error {
		got = append(got, e...)
		return nil
	}), 1, time.Minute, f.clk.Now))
	for _, id := range ids {
		rec.Authenticated(id, f.clk.Now(), false)
	}
	rec.Authenticated(ids[199], f.clk.Now(), false) // the most failures: counted first
	require.NoError(t, rec.Close(ctx))
	assert.Len(t, got, 64)
	assert.Equal(t, ids[199], got[0].Token.ID)
}
