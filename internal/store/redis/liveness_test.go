package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/registry"
	revredis "github.com/sigil-dev/sigil/internal/revocation/redis"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestRecords_ReadsThisStore: the Go verifier checks registered tokens with
// revocation/redis.Records, which reads the records this store writes
// without importing it. For every record shape and token, it must decide
// exactly as registry.Liveness over this store does, so a change of the
// stored format that it would misread fails here.
func TestRecords_ReadsThisStore(t *testing.T) {
	ctx := context.Background()
	raw := newRaw(t, redisserver.Start(t))
	st := redis.New(raw, "live:")
	server := registry.NewLiveness(st)
	verifier := revredis.NewRecords(raw, "live:")

	exp := t0.Add(time.Hour).UTC()
	later := exp.Add(time.Hour)
	records := []registry.Record{
		{ID: "rep", Type: token.KindReport, Name: "rep", Owner: "alice", ReportID: "R1", Scopes: []string{},
			Status: registry.StatusGeneratedInactive, CreatedAt: t0, ExpiresAt: &exp, JTI: "j-rep", Sealed: []byte("s")},
		{ID: "app", Type: token.KindAppView, Name: "app", Owner: "bob", AppID: "A", ReadOnly: true, Scopes: []string{},
			Status: registry.StatusGeneratedActive, CreatedAt: t0, JTI: "j-app"},
		{ID: "api", Type: token.KindAPI, Name: "api", Owner: "carol", Scopes: []string{"meta:read"},
			Status: registry.StatusGeneratedActive, CreatedAt: t0, JTI: "j-api"},
		{ID: "gone-soon", Type: token.KindReport, Name: "g", Owner: "alice", ReportID: "R2", Scopes: []string{},
			Status: registry.StatusRevoked, CreatedAt: t0, JTI: "j-gone"},
	}
	for _, r := range records {
		require.NoError(t, st.CreateRecord(ctx, r))
	}
	tok := func(kind, tid, jti, binding string, exp *time.Time) *token.Claims {
		c := &token.Claims{Kind: kind, TID: tid, RegisteredClaims: jwt.RegisteredClaims{ID: jti}}
		switch kind {
		case token.KindReport:
			c.ReportID = binding
		case token.KindAppView:
			c.AppID = binding
		case token.KindAPI:
			c.Subject = binding
		}
		if exp != nil {
			c.ExpiresAt = jwt.NewNumericDate(*exp)
		}
		return c
	}
	for name, c := range map[string]*token.Claims{
		"OK/report":          tok(token.KindReport, "rep", "j-rep", "R1", &exp),
		"OK/app":             tok(token.KindAppView, "app", "j-app", "A", nil),
		"OK/api":             tok(token.KindAPI, "api", "j-api", "carol", &exp),
		"ErrOutlivesRecord":  tok(token.KindReport, "rep", "j-rep", "R1", &later),
		"ErrNoExpiry":        tok(token.KindReport, "rep", "j-rep", "R1", nil),
		"ErrOtherGeneration": tok(token.KindReport, "rep", "j-old", "R1", &exp),
		"ErrOtherResource":   tok(token.KindReport, "rep", "j-rep", "R9", &exp),
		"ErrOtherKind":       tok(token.KindAppView, "rep", "j-rep", "R1", &exp),
		"ErrOtherOwner":      tok(token.KindAPI, "api", "j-api", "mallory", nil),
		"ErrRevokedRecord":   tok(token.KindReport, "gone-soon", "j-gone", "R2", nil),
		"ErrNoRecord":        tok(token.KindReport, "nope", "j", "R1", nil),
	} {
		t.Run(name, func(t *testing.T) {
			want := server.CheckRecord(ctx, c)
			got := verifier.CheckRecord(ctx, c)
			if want == nil {
				require.NoError(t, got)
				return
			}
			require.ErrorIs(t, want, token.ErrRevoked)
			require.ErrorIs(t, got, token.ErrRevoked)
			require.Equal(t, want.Error(), got.Error())
		})
	}
}
