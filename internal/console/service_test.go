package console_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/console"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/testclock"
)

var t0 = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// clientsFunc is a console.Clients from a function.
type clientsFunc func(ctx context.Context, id string) (clients.Client, error)

func (f clientsFunc) Get(ctx context.Context, id string) (clients.Client, error) { return f(ctx, id) }

func newService(t *testing.T) (*console.Service, *testclock.Clock, *clients.Client, *memory.Sessions) {
	t.Helper()
	clk := testclock.New(t0)
	cl := &clients.Client{ID: "c1", Role: clients.RoleAdmin, SecretHash: []byte("hash-1")}
	get := clientsFunc(func(_ context.Context, id string) (clients.Client, error) {
		if cl == nil || id != cl.ID {
			return clients.Client{}, clients.ErrNotFound
		}
		return *cl, nil
	})
	st := memory.NewSessions(clk.Now)
	return console.New(console.Config{Store: st, Clients: get, Idle: 30 * time.Minute, Max: 2 * time.Hour, Now: clk.Now}), clk, cl, st
}

func TestService_Start(t *testing.T) {
	svc, _, cl, _ := newService(t)
	ctx := context.Background()
	a, err := svc.Start(ctx, *cl)
	require.NoError(t, err)
	b, err := svc.Start(ctx, *cl)
	require.NoError(t, err)
	assert.Len(t, a.Cookie, 43)
	assert.NotEqual(t, a.Cookie, b.Cookie, "random ids")
	assert.NotEqual(t, a.CSRF, b.CSRF)
	assert.NotContains(t, a.Session.ID, a.Cookie, "the store key is the id's hash")
	assert.Equal(t, t0.Add(30*time.Minute), a.Session.ExpiresAt)
	assert.True(t, console.CheckCSRF(a.Cookie, a.CSRF))
	assert.False(t, console.CheckCSRF(a.Cookie, b.CSRF))
	assert.False(t, console.CheckCSRF(a.Cookie, ""))
}

func TestService_Resume(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		svc, _, cl, _ := newService(t)
		st, err := svc.Start(ctx, *cl)
		require.NoError(t, err)
		got, _, err := svc.Resume(ctx, st.Cookie)
		require.NoError(t, err)
		assert.Equal(t, "c1", got.ID)
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		svc, _, _, _ := newService(t)
		for _, v := range []string{"", "x", strings.Repeat("=", 43), strings.Repeat("A", 44)} {
			_, _, err := svc.Resume(ctx, v)
			assert.ErrorIs(t, err, console.ErrNoSession, "%q", v)
		}
	})
	t.Run("ErrSecretRotated", func(t *testing.T) {
		svc, _, cl, st := newService(t)
		s, err := svc.Start(ctx, *cl)
		require.NoError(t, err)
		cl.SecretHash = []byte("hash-2")
		_, _, err = svc.Resume(ctx, s.Cookie)
		assert.ErrorIs(t, err, console.ErrNoSession)
		assert.Zero(t, st.Len(), "the ended session is deleted")
		cl.SecretHash = []byte("hash-1")
		_, _, err = svc.Resume(ctx, s.Cookie)
		assert.ErrorIs(t, err, console.ErrNoSession, "and stays ended")
	})
	t.Run("ErrIdle", func(t *testing.T) {
		svc, clk, cl, _ := newService(t)
		s, err := svc.Start(ctx, *cl)
		require.NoError(t, err)
		clk.Advance(20 * time.Minute)
		_, sess, err := svc.Resume(ctx, s.Cookie)
		require.NoError(t, err)
		assert.Equal(t, t0.Add(50*time.Minute), sess.ExpiresAt, "a use moves the idle deadline")
		clk.Advance(30 * time.Minute)
		_, _, err = svc.Resume(ctx, s.Cookie)
		assert.ErrorIs(t, err, console.ErrNoSession)
	})
	t.Run("TouchAtMostOncePerMinute", func(t *testing.T) {
		svc, clk, cl, _ := newService(t)
		s, err := svc.Start(ctx, *cl)
		require.NoError(t, err)
		clk.Advance(30 * time.Second)
		_, sess, err := svc.Resume(ctx, s.Cookie)
		require.NoError(t, err)
		assert.Equal(t, t0, sess.LastSeen, "not written within a minute")
	})
	t.Run("ErrStore", func(t *testing.T) {
		boom := errors.New("boom")
		svc := console.New(console.Config{Store: failingStore{boom}, Clients: clientsFunc(nil)})
		_, _, err := svc.Resume(ctx, strings.Repeat("A", 43))
		assert.ErrorIs(t, err, apperr.ErrStoreUnavailable, "a store failure is not a signed-out session")
	})
	t.Run("ErrRandom", func(t *testing.T) {
		svc := console.New(console.Config{Store: memory.NewSessions(nil), Rand: bytes.NewReader(nil)})
		_, err := svc.Start(ctx, clients.Client{ID: "c1"})
		assert.Error(t, err)
	})
}

type failingStore struct{ err error }

func (f failingStore) CreateSession(context.Context, console.Session, int) error { return f.err }
func (f failingStore) GetSession(context.Context, string) (console.Session, error) {
	return console.Session{}, errors.Join(apperr.ErrStoreUnavailable, f.err)
}
func (f failingStore) TouchSession(context.Context, string, time.Time, time.Time) error { return f.err }
func (f failingStore) DeleteSession(context.Context, string) error                      { return f.err }
