package clients_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/store/memory"
)

var pepper = []byte("0123456789abcdef0123456789abcdef")

func newService(t *testing.T) (*clients.Service, *memory.Store) {
	t.Helper()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	st := memory.New(func() time.Time { return now })
	return clients.NewService(clients.ServiceConfig{
		Store: st, Pepper: pepper, MaxTokenExpiry: 86400, Now: func() time.Time { return now },
	}), st
}

func TestService_Create(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		svc, st := newService(t)
		c, secret, err := svc.Create(ctx, clients.NewClient{ID: "sales", Name: "Sales", Resources: []string{"dashboard:sales"}})
		require.NoError(t, err)
		require.Equal(t, clients.RoleIssuer, c.Role)
		require.Len(t, secret, 43, "256-bit secret, base64url")
		stored, err := st.GetClient(ctx, "sales")
		require.NoError(t, err)
		require.NotContains(t, string(stored.SecretHash), secret)
		require.Len(t, stored.SecretHash, 32, "HMAC-SHA-256")

		got, err := svc.Authenticate(ctx, "sales", secret)
		require.NoError(t, err)
		require.Equal(t, "sales", got.ID)
	})
	t.Run("GeneratedID", func(t *testing.T) {
		svc, _ := newService(t)
		c, _, err := svc.Create(ctx, clients.NewClient{Name: "x"})
		require.NoError(t, err)
		require.NotEmpty(t, c.ID)
	})
	t.Run("SecretsDiffer", func(t *testing.T) {
		svc, _ := newService(t)
		_, s1, err := svc.Create(ctx, clients.NewClient{ID: "a"})
		require.NoError(t, err)
		_, s2, err := svc.Create(ctx, clients.NewClient{ID: "b"})
		require.NoError(t, err)
		require.NotEqual(t, s1, s2)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		svc, _ := newService(t)
		_, _, err := svc.Create(ctx, clients.NewClient{ID: "a"})
		require.NoError(t, err)
		_, _, err = svc.Create(ctx, clients.NewClient{ID: "a"})
		e, ok := apperr.As(err)
		require.True(t, ok)
		require.Equal(t, apperr.CodeConflict, e.Code)
		require.Equal(t, "id", e.Field)
	})
	invalid := []struct {
		name  string
		in    clients.NewClient
		field string
	}{
		{"BadID", clients.NewClient{ID: "has space"}, "id"},
		{"IDTooLong", clients.NewClient{ID: string(bytes.Repeat([]byte("a"), 129))}, "id"},
		{"BadRole", clients.NewClient{Role: "root"}, "role"},
		{"BadResourceKind", clients.NewClient{Resources: []string{"db:sales"}}, "resources[0]"},
		{"BadGlob", clients.NewClient{Resources: []string{"dashboard:ok", "dashboard:[x"}}, "resources[1]"},
		{"BadScope", clients.NewClient{Scopes: []string{"a b"}}, "scopes[0]"},
		{"NegativeExpiry", clients.NewClient{MaxTokenExpiry: -1}, "maxTokenExpiry"},
		{"ExpiryOverServerMax", clients.NewClient{MaxTokenExpiry: 86401}, "maxTokenExpiry"},
	}
	for _, tt := range invalid {
		t.Run("Err"+tt.name, func(t *testing.T) {
			svc, _ := newService(t)
			_, _, err := svc.Create(ctx, tt.in)
			e, ok := apperr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, apperr.CodeInvalid, e.Code)
			require.Equal(t, tt.field, e.Field)
		})
	}
}

func TestService_Authenticate(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	_, secret, err := svc.Create(ctx, clients.NewClient{ID: "sales"})
	require.NoError(t, err)
	for name, tc := range map[string]struct{ id, secret string }{
		"ErrWrongSecret": {"sales", secret + "x"},
		"ErrUnknownID":   {"nobody", secret},
		"ErrEmptySecret": {"sales", ""},
		"ErrTruncated":   {"sales", secret[:42]},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := svc.Authenticate(ctx, tc.id, tc.secret)
			require.True(t, errors.Is(err, clients.ErrBadCredentials), "%v", err)
		})
	}
	t.Run("ErrOtherPepper", func(t *testing.T) {
		_, st := newService(t)
		other := clients.NewService(clients.ServiceConfig{Store: st, Pepper: []byte("another-pepper-another-pepper-xx")})
		_, s, err := other.Create(ctx, clients.NewClient{ID: "x"})
		require.NoError(t, err)
		same := clients.NewService(clients.ServiceConfig{Store: st, Pepper: pepper})
		_, err = same.Authenticate(ctx, "x", s)
		require.ErrorIs(t, err, clients.ErrBadCredentials)
	})
}

func TestService_RotateSecret(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	_, old, err := svc.Create(ctx, clients.NewClient{ID: "sales"})
	require.NoError(t, err)
	_, fresh, err := svc.RotateSecret(ctx, "sales")
	require.NoError(t, err)
	require.NotEqual(t, old, fresh)
	_, err = svc.Authenticate(ctx, "sales", old)
	require.ErrorIs(t, err, clients.ErrBadCredentials)
	_, err = svc.Authenticate(ctx, "sales", fresh)
	require.NoError(t, err)
	_, _, err = svc.RotateSecret(ctx, "nobody")
	require.ErrorIs(t, err, clients.ErrNotFound)
}

func TestService_EnsureAdmin(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	require.NoError(t, svc.EnsureAdmin(ctx, "first-admin-secret"))
	require.NoError(t, svc.EnsureAdmin(ctx, "second-admin-secret"), "a restart with a new secret replaces it")
	_, err := svc.Authenticate(ctx, clients.AdminID, "first-admin-secret")
	require.ErrorIs(t, err, clients.ErrBadCredentials)
	c, err := svc.Authenticate(ctx, clients.AdminID, "second-admin-secret")
	require.NoError(t, err)
	require.Equal(t, clients.RoleAdmin, c.Role)
}

func TestClient_Allows(t *testing.T) {
	issuer := clients.Client{Role: clients.RoleIssuer, Resources: []string{"dashboard:sales", "app:analytics:*"}}
	admin := clients.Client{Role: clients.RoleAdmin}
	tests := []struct {
		name     string
		c        clients.Client
		resource string
		want     bool
	}{
		{"Exact", issuer, "dashboard:sales", true},
		{"OtherDashboard", issuer, "dashboard:salesx", false},
		{"Glob", issuer, "app:analytics:q3", true},
		{"GlobOtherPrefix", issuer, "app:finance:q3", false},
		{"AdminAll", admin, "report:anything", true},
		{"Empty", clients.Client{Role: clients.RoleIssuer}, "dashboard:sales", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.c.Allows(tt.resource))
		})
	}
}

// unavailableStore fails every read, like Redis when it is down.
type unavailableStore struct {
	clients.Store
	down bool
}

func (u *unavailableStore) GetClient(ctx context.Context, id string) (clients.Client, error) {
	if u.down {
		return clients.Client{}, fmt.Errorf("redis: refused: %w", apperr.ErrStoreUnavailable)
	}
	return u.Store.GetClient(ctx, id)
}

func TestService_Cache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	mem := memory.New(clock)
	st := &unavailableStore{Store: mem}
	svc := clients.NewService(clients.ServiceConfig{Store: st, Pepper: pepper, MaxTokenExpiry: 60, Now: clock,
		CacheTTL: 10 * time.Second, StaleTTL: 5 * time.Minute})
	_, secret, err := svc.Create(ctx, clients.NewClient{ID: "sales"})
	require.NoError(t, err)
	_, err = svc.Authenticate(ctx, "sales", secret)
	require.NoError(t, err)

	t.Run("OK/StoreDownServesCachedCopy", func(t *testing.T) {
		st.down = true
		defer func() { st.down = false }()
		now = now.Add(time.Minute) // past CacheTTL, within StaleTTL
		_, err := svc.Authenticate(ctx, "sales", secret)
		require.NoError(t, err)
		_, err = svc.Authenticate(ctx, "sales", "wrong")
		require.ErrorIs(t, err, clients.ErrBadCredentials, "a cached copy still checks the secret")
	})
	t.Run("ErrStoreDownPastStaleTTL", func(t *testing.T) {
		st.down = true
		defer func() { st.down = false }()
		now = now.Add(10 * time.Minute)
		_, err := svc.Authenticate(ctx, "sales", secret)
		require.ErrorIs(t, err, apperr.ErrStoreUnavailable)
	})
	t.Run("ErrRotatedHereTakesEffectAtOnce", func(t *testing.T) {
		_, err := svc.Authenticate(ctx, "sales", secret)
		require.NoError(t, err)
		_, fresh, err := svc.RotateSecret(ctx, "sales")
		require.NoError(t, err)
		_, err = svc.Authenticate(ctx, "sales", secret)
		require.ErrorIs(t, err, clients.ErrBadCredentials)
		_, err = svc.Authenticate(ctx, "sales", fresh)
		require.NoError(t, err)
	})
	t.Run("ErrDeletedHereTakesEffectAtOnce", func(t *testing.T) {
		_, s2, err := svc.Create(ctx, clients.NewClient{ID: "gone"})
		require.NoError(t, err)
		_, err = svc.Authenticate(ctx, "gone", s2)
		require.NoError(t, err)
		require.NoError(t, svc.Delete(ctx, "gone"))
		_, err = svc.Authenticate(ctx, "gone", s2)
		require.ErrorIs(t, err, clients.ErrBadCredentials)
	})
	t.Run("OK/OtherInstanceChangeSeenAfterTTL", func(t *testing.T) {
		other := clients.NewService(clients.ServiceConfig{Store: mem, Pepper: pepper, Now: clock})
		_, s3, err := svc.Create(ctx, clients.NewClient{ID: "shared"})
		require.NoError(t, err)
		_, err = svc.Authenticate(ctx, "shared", s3)
		require.NoError(t, err)
		_, rotated, err := other.RotateSecret(ctx, "shared")
		require.NoError(t, err)
		_, err = svc.Authenticate(ctx, "shared", s3)
		require.NoError(t, err, "within CacheTTL the old secret still works on this instance")
		now = now.Add(11 * time.Second)
		_, err = svc.Authenticate(ctx, "shared", s3)
		require.ErrorIs(t, err, clients.ErrBadCredentials)
		_, err = svc.Authenticate(ctx, "shared", rotated)
		require.NoError(t, err)
	})
}
