package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/token"
)

func TestNewService(t *testing.T) {
	f := newFixture(t)
	for name, key := range map[string][]byte{"ErrShortKey": make([]byte, 15), "ErrEmptyKey": {}, "ErrLongKey": make([]byte, 33)} {
		t.Run(name, func(t *testing.T) {
			_, err := registry.NewService(registry.ServiceConfig{Store: f.store, Issuer: token.NewIssuer(token.IssuerConfig{}), Revoker: f.rev, Sealer: key})
			require.Error(t, err)
		})
	}
	t.Run("ErrMissingDeps", func(t *testing.T) {
		_, err := registry.NewService(registry.ServiceConfig{Store: f.store})
		require.Error(t, err)
	})
	t.Run("DefaultScopes", func(t *testing.T) {
		assert.Equal(t, map[string]string{"meta:read": "Meta Record", "report:read": "Report Record"}, f.svc.Scopes())
		assert.False(t, f.svc.RevealEnabled())
	})
}

func TestService_Create_invalid(t *testing.T) {
	ctx := context.Background()
	past := epoch.Add(-time.Second)
	future := epoch.Add(time.Hour)
	tests := []struct {
		name   string
		caller registry.Caller
		in     registry.CreateInput
		code   string
		field  string
	}{
		{"UnknownType", admin, registry.CreateInput{Type: "embed", ReportID: "r1"}, apperr.CodeInvalid, "type"},
		{"EmptyType", admin, registry.CreateInput{ReportID: "r1"}, apperr.CodeInvalid, "type"},
		{"ReportWithoutReportID", admin, registry.CreateInput{Type: token.KindReport}, apperr.CodeInvalid, "reportId"},
		{"ReportWithScopes", admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", Scopes: []string{"report:read"}}, apperr.CodeInvalid, "scopes"},
		{"AppViewWithScopes", admin, registry.CreateInput{Type: token.KindAppView, AppID: "a1", Scopes: []string{"meta:read"}}, apperr.CodeInvalid, "scopes"},
		{"ReportWithAppID", admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", AppID: "a1"}, apperr.CodeInvalid, "appId"},
		{"AppViewWithoutAppID", admin, registry.CreateInput{Type: token.KindAppView}, apperr.CodeInvalid, "appId"},
		{"AppViewWithReportID", admin, registry.CreateInput{Type: token.KindAppView, AppID: "a1", ReportID: "r1"}, apperr.CodeInvalid, "reportId"},
		{"APIWithoutOwner", admin, registry.CreateInput{Type: token.KindAPI, Scopes: []string{"meta:read"}}, apperr.CodeInvalid, "owner"},
		{"APIOwnerWithoutRole", admin, registry.CreateInput{Type: token.KindAPI, Owner: "norole", Scopes: []string{"meta:read"}}, apperr.CodeForbidden, "owner"},
		{"APIWithoutScopes", admin, registry.CreateInput{Type: token.KindAPI, Owner: "alice"}, apperr.CodeInvalid, "scopes"},
		{"APIUnknownScope", admin, registry.CreateInput{Type: token.KindAPI, Owner: "alice", Scopes: []string{"meta:read", "admin:all"}}, apperr.CodeInvalid, "scopes"},
		{"ReportUnknownScope", admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", Scopes: []string{"x"}}, apperr.CodeInvalid, "scopes"},
		{"NameTooLong", admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", Name: strings.Repeat("n", registry.MaxNameLen+1)}, apperr.CodeInvalid, "name"},
		{"NameControlChar", admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", Name: "a\nb"}, apperr.CodeInvalid, "name"},
		{"ExpiresAtPast", admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresAt: &past}, apperr.CodeInvalid, "expiresAt"},
		{"ExpiresAtNow", admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresAt: ptr(epoch)}, apperr.CodeInvalid, "expiresAt"},
		{"ExpiresInUnknown", admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresIn: "2d"}, apperr.CodeInvalid, "expiresIn"},
		{"ExpiresBoth", admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresAt: &future, ExpiresIn: "7d"}, apperr.CodeInvalid, "expiresIn"},
		{"NoOwnerNoCallerID", registry.Caller{Admin: true}, registry.CreateInput{Type: token.KindReport, ReportID: "r1"}, apperr.CodeInvalid, "owner"},
		{"ReportIDTooLong", admin, registry.CreateInput{Type: token.KindReport, ReportID: strings.Repeat("r", registry.MaxIDLen+1)}, apperr.CodeInvalid, "reportId"},
		{"NotAllowedReport", issuer("c1", "report:r2"), registry.CreateInput{Type: token.KindReport, ReportID: "r1"}, apperr.CodeForbidden, "reportId"},
		{"NotAllowedApp", issuer("c1", "report:r1"), registry.CreateInput{Type: token.KindAppView, AppID: "a1"}, apperr.CodeForbidden, "appId"},
		{"NotAllowedAPI", issuer("c1", "api:bob"), registry.CreateInput{Type: token.KindAPI, Owner: "alice", Scopes: []string{"meta:read"}}, apperr.CodeForbidden, "owner"},
		{"NilAllows", registry.Caller{ID: "c1"}, registry.CreateInput{Type: token.KindReport, ReportID: "r1"}, apperr.CodeForbidden, "reportId"},
	}
	for _, tt := range tests {
		t.Run("Err"+tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.grant(t, "alice")
			rec, jwt, err := f.svc.Create(ctx, tt.caller, tt.in)
			requireAppErr(t, err, tt.code, tt.field)
			assert.Empty(t, jwt)
			assert.Zero(t, rec.ID)
			page, _, err := f.store.ListRecords(ctx, registry.Filter{})
			require.NoError(t, err)
			assert.Empty(t, page, "nothing stored")
		})
	}
}

func TestService_Create(t *testing.T) {
	ctx := context.Background()

	t.Run("ReportDefaults", func(t *testing.T) {
		f := newFixture(t)
		c := issuer("client-1", "report:r1")
		rec, jwt, err := f.svc.Create(ctx, c, registry.CreateInput{Type: token.KindReport, ReportID: "r1"})
		require.NoError(t, err)
		assert.Equal(t, "rec-0001-aaaa-bbbb", rec.ID)
		assert.Equal(t, "report-rec0001a", rec.Name, "a generated name")
		assert.Equal(t, "client-1", rec.Owner, "the owner defaults to the caller")
		assert.Equal(t, "client-1", rec.CreatedBy)
		assert.Equal(t, registry.StatusGeneratedInactive, rec.Status, "generate defaults to true")
		assert.Equal(t, epoch, rec.CreatedAt)
		assert.Nil(t, rec.ExpiresAt, "never expires by default")
		require.NotNil(t, rec.GeneratedAt)
		assert.Equal(t, epoch, *rec.GeneratedAt)
		assert.Equal(t, []string{}, rec.Scopes)
		require.NotEmpty(t, jwt)
		assert.Equal(t, jwt[len(jwt)-6:], rec.TokenHint)

		claims, err := f.ver.Verify(ctx, jwt)
		require.NoError(t, err)
		assert.Equal(t, token.KindReport, claims.Kind)
		assert.Equal(t, rec.ID, claims.TID)
		assert.Equal(t, "r1", claims.ReportID)
		assert.Equal(t, "client-1", claims.ClientID)
		assert.Equal(t, rec.JTI, claims.ID)
		assert.Nil(t, claims.ExpiresAt, "a never-expiring registered token has no exp")

		stored, err := f.store.GetRecord(ctx, rec.ID)
		require.NoError(t, err)
		assert.Equal(t, rec, stored)
		assert.Nil(t, stored.Sealed, "reveal is off: no JWT kept")
		assert.Equal(t, []string{"CREATE/OK client-1", "GENERATE/OK client-1"}, f.logActivities(t, rec.ID))
	})

	t.Run("AppViewReadOnlyForced", func(t *testing.T) {
		f := newFixture(t)
		rec, jwt, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindAppView, AppID: "analytics", ReadOnly: ptr(false), ExpiresIn: "7d"})
		require.NoError(t, err)
		assert.True(t, rec.ReadOnly)
		require.NotNil(t, rec.ExpiresAt)
		assert.Equal(t, epoch.Add(7*24*time.Hour), *rec.ExpiresAt)
		claims, err := f.ver.Verify(ctx, jwt)
		require.NoError(t, err)
		assert.True(t, claims.ReadOnly)
		assert.Equal(t, "analytics", claims.AppID)
		assert.Equal(t, *rec.ExpiresAt, claims.ExpiresAt.Time.UTC(), "exp is the record's expiresAt")
	})

	t.Run("API", func(t *testing.T) {
		f := newFixture(t)
		f.grant(t, "alice")
		exp := epoch.Add(36 * time.Hour).Add(500 * time.Millisecond)
		rec, jwt, err := f.svc.Create(ctx, issuer("c1", "api:alice"), registry.CreateInput{
			Type: token.KindAPI, Name: "ci", Owner: "alice", Scopes: []string{"report:read", "meta:read", "report:read"}, ExpiresAt: &exp,
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"report:read", "meta:read"}, rec.Scopes, "duplicates dropped")
		assert.Equal(t, "api:alice", rec.Resource())
		assert.Equal(t, epoch.Add(36*time.Hour), *rec.ExpiresAt, "whole seconds")
		claims, err := f.ver.Verify(ctx, jwt)
		require.NoError(t, err)
		assert.Equal(t, "alice", claims.Subject)
		assert.Equal(t, "report:read meta:read", claims.Scope)
		assert.Equal(t, "c1", claims.ClientID)
		assert.Equal(t, epoch.Add(36*time.Hour), claims.ExpiresAt.Time.UTC())
	})

	t.Run("ExpiresInPresets", func(t *testing.T) {
		f := newFixture(t)
		for preset, d := range map[string]time.Duration{"1d": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 720 * time.Hour, "60d": 1440 * time.Hour, "90d": 2160 * time.Hour, "1y": 8760 * time.Hour} {
			// Issue 14: a preset counts from each generation, not from the creation.
			rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresIn: preset, Generate: ptr(false)})
			require.NoError(t, err, preset)
			assert.Nil(t, rec.ExpiresAt, "%s: no expiry before the first generation", preset)
			assert.Equal(t, preset, rec.ExpiresIn)
			rec, _, err = f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresIn: preset})
			require.NoError(t, err, preset)
			assert.Equal(t, f.clk.Now().Add(d), *rec.ExpiresAt, "%s: generated at creation", preset)
		}
		rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresIn: "never"})
		require.NoError(t, err)
		assert.Nil(t, rec.ExpiresAt)
		assert.Equal(t, "never", rec.ExpiresIn)
		rec, _, err = f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresAt: ptr(epoch.Add(time.Hour))})
		require.NoError(t, err)
		assert.Empty(t, rec.ExpiresIn, "an absolute expiresAt keeps no preset")
	})

	t.Run("PresetCountsFromEachGeneration", func(t *testing.T) {
		f := newFixture(t)
		f.grant(t, "alice")
		rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindAPI, Owner: "alice", Scopes: []string{"meta:read"}, ExpiresIn: "1d", Generate: ptr(false)})
		require.NoError(t, err)
		// Generated long after the creation: never refused for the creation's age.
		f.clk.Advance(10 * 24 * time.Hour)
		gen, jwt, err := f.svc.Generate(ctx, admin, rec.ID)
		require.NoError(t, err)
		assert.Equal(t, f.clk.Now().Add(24*time.Hour), *gen.ExpiresAt)
		c, err := f.ver.Verify(ctx, jwt)
		require.NoError(t, err)
		assert.Equal(t, f.clk.Now().Add(24*time.Hour), c.ExpiresAt.Time, "the JWT says the same instant")
		// Regenerated before it expires: a new day from then.
		f.clk.Advance(20 * time.Hour)
		gen, _, err = f.svc.Generate(ctx, admin, rec.ID)
		require.NoError(t, err)
		assert.Equal(t, f.clk.Now().Add(24*time.Hour), *gen.ExpiresAt)
		assert.Equal(t, "1d", gen.ExpiresIn)
		// Once the generation has expired the record is expired: no more generations.
		f.clk.Advance(25 * time.Hour)
		got, err := f.svc.Get(ctx, admin, rec.ID)
		require.NoError(t, err)
		assert.Equal(t, registry.StatusExpired, got.Status)
		_, _, err = f.svc.Generate(ctx, admin, rec.ID)
		requireAppErr(t, err, apperr.CodeConflict, "status")
	})

	t.Run("NoGenerate", func(t *testing.T) {
		f := newFixture(t)
		rec, jwt, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", Generate: ptr(false)})
		require.NoError(t, err)
		assert.Empty(t, jwt)
		assert.Equal(t, registry.StatusNotGenerated, rec.Status)
		assert.Nil(t, rec.GeneratedAt)
		assert.Empty(t, rec.TokenHint)
		assert.Equal(t, []string{"CREATE/OK admin"}, f.logActivities(t, rec.ID))
	})

	t.Run("ErrNameTaken", func(t *testing.T) {
		f := newFixture(t)
		f.grant(t, "alice")
		in := registry.CreateInput{Type: token.KindAPI, Name: "deploy", Owner: "alice", Scopes: []string{"meta:read"}}
		_, _, err := f.svc.Create(ctx, admin, in)
		require.NoError(t, err)
		_, jwt, err := f.svc.Create(ctx, admin, in)
		requireAppErr(t, err, apperr.CodeConflict, "name")
		assert.ErrorIs(t, err, registry.ErrNameTaken)
		assert.Empty(t, jwt)
		in.Owner = "bob"
		f.grant(t, "bob")
		_, _, err = f.svc.Create(ctx, admin, in)
		require.NoError(t, err, "unique per owner")
	})

	t.Run("ErrRoleWithdrawn", func(t *testing.T) {
		f := newFixture(t)
		f.grant(t, "alice")
		require.NoError(t, f.svc.SetRole(ctx, "alice", false))
		_, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindAPI, Owner: "alice", Scopes: []string{"meta:read"}})
		requireAppErr(t, err, apperr.CodeForbidden, "owner")
		requireAppErr(t, f.svc.SetRole(ctx, "", true), apperr.CodeInvalid, "owner")

		f.grant(t, "alice")
		rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindAPI, Owner: "alice", Scopes: []string{"meta:read"}})
		require.NoError(t, err)
		require.NoError(t, f.svc.SetRole(ctx, "alice", false))
		_, jwt, err := f.svc.Generate(ctx, admin, rec.ID)
		requireAppErr(t, err, apperr.CodeForbidden, "owner")
		assert.Empty(t, jwt, "no new API token once the role is withdrawn")
	})
}

// TestService_EnviziFlow walks one API token through its life.
func TestService_EnviziFlow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.grant(t, "alice")
	caller := issuer("backend", "api:alice")
	rec := NewRecorderFor(t, f)

	created, jwt, err := f.svc.Create(ctx, caller, registry.CreateInput{
		Type: token.KindAPI, Name: "envizi", Owner: "alice", Scopes: []string{"meta:read"}, ExpiresIn: "30d", Generate: ptr(false),
	})
	require.NoError(t, err)
	require.Empty(t, jwt)
	assert.Equal(t, registry.StatusNotGenerated, created.Status)

	f.clk.Advance(time.Minute)
	gen, first, err := f.svc.Generate(ctx, caller, created.ID)
	require.NoError(t, err)
	assert.Equal(t, registry.StatusGeneratedInactive, gen.Status)
	claims, err := f.ver.Verify(ctx, first)
	require.NoError(t, err)
	assert.Equal(t, created.ID, claims.TID)
	assert.Nil(t, created.ExpiresAt, "a preset counts from the generation (issue 14)")
	assert.Equal(t, *gen.ExpiresAt, claims.ExpiresAt.Time.UTC(), "exp is the record's expiresAt")
	assert.Equal(t, f.clk.Now().Add(30*24*time.Hour), *gen.ExpiresAt)
	firstJTI := claims.ID

	// A gateway verifies the token: the recorder writes the use off the hot path.
	f.clk.Advance(time.Minute)
	usedAt := f.clk.Now()
	rec.Authenticated(created.ID, usedAt, true)
	require.NoError(t, rec.Close(ctx))
	got, err := f.svc.Get(ctx, caller, created.ID)
	require.NoError(t, err)
	assert.Equal(t, registry.StatusGeneratedActive, got.Status, "first use activates")
	require.NotNil(t, got.LastUsedAt)
	assert.Equal(t, usedAt, *got.LastUsedAt)
	assert.Equal(t, []string{"CREATE/OK backend", "GENERATE/OK backend", "AUTHENTICATE/OK verify"}, f.logActivities(t, created.ID))

	// Regenerate: the old JWT is denied at once, the new one works.
	f.clk.Advance(time.Minute)
	regen, second, err := f.svc.Generate(ctx, caller, created.ID)
	require.NoError(t, err)
	assert.Equal(t, registry.StatusGeneratedInactive, regen.Status, "a new generation starts unused")
	assert.NotEqual(t, first, second)
	_, err = f.ver.Verify(ctx, first)
	require.ErrorIs(t, err, token.ErrRevoked, "the previous jti is denied")
	denied, err := f.deny.IsDenied(ctx, firstJTI)
	require.NoError(t, err)
	assert.True(t, denied)
	claims, err = f.ver.Verify(ctx, second)
	require.NoError(t, err)
	assert.Equal(t, regen.JTI, claims.ID)

	// Delete: both the record id and the current jti are denied, and the
	// record stays, revoked, with its log (issue 14; it was deleted).
	require.NoError(t, f.svc.Delete(ctx, caller, created.ID))
	_, err = f.ver.Verify(ctx, second)
	require.ErrorIs(t, err, token.ErrRevoked)
	for _, id := range []string{created.ID, regen.JTI} {
		denied, err := f.deny.IsDenied(ctx, id)
		require.NoError(t, err)
		assert.True(t, denied, id)
	}
	revoked, err := f.svc.Get(ctx, caller, created.ID)
	require.NoError(t, err, "the creator still reads it")
	assert.Equal(t, registry.StatusRevoked, revoked.Status)
	require.NotNil(t, revoked.RevokedAt)
	assert.Equal(t, f.clk.Now(), *revoked.RevokedAt)
	assert.Equal(t, []string{"CREATE/OK backend", "GENERATE/OK backend", "AUTHENTICATE/OK verify", "GENERATE/OK backend", "REVOKE/OK backend"},
		f.logActivities(t, created.ID))
	page, _, err := f.svc.List(ctx, caller, registry.Filter{Type: token.KindAPI, Owner: "alice", Status: "revoked"})
	require.NoError(t, err)
	require.Len(t, page, 1)

	// A revoked record is neither generated nor changed (409 naming status);
	// revoking it again is a no-op.
	_, _, err = f.svc.Generate(ctx, caller, created.ID)
	requireAppErr(t, err, apperr.CodeConflict, "status")
	_, _, err = f.svc.Update(ctx, caller, created.ID, registry.UpdateInput{Name: ptr("again")})
	requireAppErr(t, err, apperr.CodeConflict, "status")
	require.NoError(t, f.svc.Delete(ctx, caller, created.ID))
	assert.Len(t, f.logActivities(t, created.ID), 5, "nothing logged again")

	// The name is free again, and the new token's own.
	again, _, err := f.svc.Create(ctx, caller, registry.CreateInput{Type: token.KindAPI, Name: "ENVIZI", Owner: "alice", Scopes: []string{"meta:read"}})
	require.NoError(t, err)
	_, _, err = f.svc.Create(ctx, caller, registry.CreateInput{Type: token.KindAPI, Name: "envizi", Owner: "alice", Scopes: []string{"meta:read"}})
	requireAppErr(t, err, apperr.CodeConflict, "name")
	_, err = f.ver.Verify(ctx, second)
	require.ErrorIs(t, err, token.ErrRevoked, "the old JWT stays denied")

	// Cleanup removes the revoked record and its log after the retention, not before.
	n, err := f.svc.Cleanup(ctx, f.clk.Now().Add(registry.LogRetention-time.Second))
	require.NoError(t, err)
	assert.Zero(t, n)
	n, err = f.svc.Cleanup(ctx, f.clk.Now().Add(registry.LogRetention))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = f.svc.Get(ctx, caller, created.ID)
	requireAppErr(t, err, apperr.CodeNotFound, "")
	_, err = f.svc.Get(ctx, caller, again.ID)
	require.NoError(t, err, "the live one stays")
	logs, _, err := f.store.ListLogs(ctx, created.ID, 10, "")
	require.NoError(t, err)
	assert.Empty(t, logs, "its log went with it")
}

// NewRecorderFor returns a Recorder on the fixture's store.
func NewRecorderFor(t *testing.T, f *fixture) *registry.Recorder {
	t.Helper()
	r := registry.NewRecorder(f.store, 64, time.Hour)
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func TestService_isolation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.grant(t, "alice")
	sales := issuer("sales", "report:r-sales", "app:sales-app", "api:alice")
	other := issuer("finance", "report:r-finance")

	mine, _, err := f.svc.Create(ctx, sales, registry.CreateInput{Type: token.KindReport, ReportID: "r-sales"})
	require.NoError(t, err)
	_, _, err = f.svc.Create(ctx, sales, registry.CreateInput{Type: token.KindAppView, AppID: "sales-app"})
	require.NoError(t, err)
	_, _, err = f.svc.Create(ctx, sales, registry.CreateInput{Type: token.KindAPI, Owner: "alice", Scopes: []string{"meta:read"}})
	require.NoError(t, err)
	_, _, err = f.svc.Create(ctx, other, registry.CreateInput{Type: token.KindReport, ReportID: "r-finance"})
	require.NoError(t, err)

	_, missingErr := f.svc.Get(ctx, other, "no-such-id")
	missing := requireAppErr(t, missingErr, apperr.CodeNotFound, "")

	sameAsMissing := func(t *testing.T, err error) {
		t.Helper()
		e := requireAppErr(t, err, apperr.CodeNotFound, "")
		assert.Equal(t, missing.Message, e.Message, "indistinguishable from a missing id")
	}
	t.Run("Get", func(t *testing.T) {
		_, err := f.svc.Get(ctx, other, mine.ID)
		sameAsMissing(t, err)
	})
	t.Run("Update", func(t *testing.T) {
		_, _, err := f.svc.Update(ctx, other, mine.ID, registry.UpdateInput{Name: ptr("stolen")})
		sameAsMissing(t, err)
	})
	t.Run("Generate", func(t *testing.T) {
		_, _, err := f.svc.Generate(ctx, other, mine.ID)
		sameAsMissing(t, err)
	})
	t.Run("Delete", func(t *testing.T) {
		sameAsMissing(t, f.svc.Delete(ctx, other, mine.ID))
	})
	t.Run("Logs", func(t *testing.T) {
		_, _, err := f.svc.Logs(ctx, other, mine.ID, 10, "")
		sameAsMissing(t, err)
	})
	t.Run("ListForeignReport", func(t *testing.T) {
		_, _, err := f.svc.List(ctx, other, registry.Filter{ReportID: "r-sales"})
		sameAsMissing(t, err)
		_, err = f.svc.ListForReport(ctx, other, "r-sales")
		sameAsMissing(t, err)
		_, err = f.svc.ListForApp(ctx, other, "sales-app")
		sameAsMissing(t, err)
	})
	t.Run("ListUnpinnedListsOwn", func(t *testing.T) {
		// Issue 14: no filter lists the records the caller created (it
		// was a 404), never another client's.
		page, _, err := f.svc.List(ctx, sales, registry.Filter{})
		require.NoError(t, err)
		assert.Len(t, page, 3)
		for _, r := range page {
			assert.Equal(t, "sales", r.CreatedBy)
		}
		page, _, err = f.svc.List(ctx, other, registry.Filter{})
		require.NoError(t, err)
		require.Len(t, page, 1)
		assert.Equal(t, "finance", page[0].CreatedBy)
		page, _, err = f.svc.List(ctx, sales, registry.Filter{Owner: "alice"})
		require.NoError(t, err)
		require.Len(t, page, 1)
		assert.Equal(t, "alice", page[0].Owner)
		page, _, err = f.svc.List(ctx, other, registry.Filter{Owner: "alice"})
		require.NoError(t, err)
		assert.Empty(t, page)
	})
	t.Run("ListOwn", func(t *testing.T) {
		page, next, err := f.svc.List(ctx, sales, registry.Filter{ReportID: "r-sales"})
		require.NoError(t, err)
		assert.Empty(t, next)
		require.Len(t, page, 1)
		assert.Equal(t, mine.ID, page[0].ID)
		page, _, err = f.svc.List(ctx, sales, registry.Filter{Type: token.KindAPI, Owner: "alice"})
		require.NoError(t, err)
		assert.Len(t, page, 1)
		list, err := f.svc.ListForApp(ctx, sales, "sales-app")
		require.NoError(t, err)
		assert.Len(t, list, 1)
		list, err = f.svc.ListForReport(ctx, other, "r-finance")
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})
	t.Run("Admin", func(t *testing.T) {
		page, _, err := f.svc.List(ctx, admin, registry.Filter{})
		require.NoError(t, err)
		assert.Len(t, page, 4)
		_, err = f.svc.Get(ctx, admin, mine.ID)
		require.NoError(t, err)
	})
	t.Run("Untouched", func(t *testing.T) {
		got, err := f.svc.Get(ctx, sales, mine.ID)
		require.NoError(t, err)
		assert.Equal(t, mine, got)
		assert.Equal(t, []string{"CREATE/OK sales", "GENERATE/OK sales"}, f.logActivities(t, mine.ID))
	})
}

func TestService_Update(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.grant(t, "alice")
	api, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindAPI, Name: "a", Owner: "alice", Scopes: []string{"meta:read"}})
	require.NoError(t, err)
	_, _, err = f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindAPI, Name: "b", Owner: "alice", Scopes: []string{"meta:read"}})
	require.NoError(t, err)
	draft, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindAPI, Name: "draft", Owner: "alice", Scopes: []string{"meta:read"}, Generate: ptr(false)})
	require.NoError(t, err)
	report, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1"})
	require.NoError(t, err)

	t.Run("ErrScopesOnAReportToken", func(t *testing.T) {
		_, _, err := f.svc.Update(ctx, admin, report.ID, registry.UpdateInput{Scopes: &[]string{"report:read"}})
		e, ok := apperr.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, apperr.CodeInvalid, e.Code)
		require.Equal(t, "scopes", e.Field)
	})

	t.Run("Rename", func(t *testing.T) {
		got, pending, err := f.svc.Update(ctx, admin, api.ID, registry.UpdateInput{Name: ptr("renamed")})
		require.NoError(t, err)
		assert.False(t, pending)
		assert.Equal(t, "renamed", got.Name)
		assert.Equal(t, api.JTI, got.JTI, "the JWT is unchanged")
	})
	t.Run("ScopesPending", func(t *testing.T) {
		got, pending, err := f.svc.Update(ctx, admin, api.ID, registry.UpdateInput{Scopes: &[]string{"meta:read", "report:read"}})
		require.NoError(t, err)
		assert.True(t, pending, "the current JWT carries the old scopes until the next generation")
		assert.Equal(t, []string{"meta:read", "report:read"}, got.Scopes)
		_, pending, err = f.svc.Update(ctx, admin, api.ID, registry.UpdateInput{Scopes: &[]string{"meta:read", "report:read"}})
		require.NoError(t, err)
		assert.False(t, pending, "same scopes")

		_, jwt, err := f.svc.Generate(ctx, admin, api.ID)
		require.NoError(t, err)
		claims, err := f.ver.Verify(ctx, jwt)
		require.NoError(t, err)
		assert.Equal(t, "meta:read report:read", claims.Scope, "the next generation carries them")
	})
	t.Run("NotGeneratedNothingPending", func(t *testing.T) {
		_, pending, err := f.svc.Update(ctx, admin, draft.ID, registry.UpdateInput{Scopes: &[]string{"report:read"}})
		require.NoError(t, err)
		assert.False(t, pending)
	})
	t.Run("ErrNameTaken", func(t *testing.T) {
		_, _, err := f.svc.Update(ctx, admin, api.ID, registry.UpdateInput{Name: ptr("b")})
		requireAppErr(t, err, apperr.CodeConflict, "name")
	})
	for name, tc := range map[string]struct {
		in    registry.UpdateInput
		field string
	}{
		"ErrEmptyName":    {registry.UpdateInput{Name: ptr("")}, "name"},
		"ErrLongName":     {registry.UpdateInput{Name: ptr(strings.Repeat("x", 201))}, "name"},
		"ErrUnknownScope": {registry.UpdateInput{Scopes: &[]string{"nope"}}, "scopes"},
		"ErrNoScopes":     {registry.UpdateInput{Scopes: &[]string{}}, "scopes"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := f.svc.Update(ctx, admin, api.ID, tc.in)
			requireAppErr(t, err, apperr.CodeInvalid, tc.field)
		})
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		_, _, err := f.svc.Update(ctx, admin, "ghost", registry.UpdateInput{Name: ptr("x")})
		requireAppErr(t, err, apperr.CodeNotFound, "")
	})
	t.Run("Logged", func(t *testing.T) {
		assert.Equal(t, []string{"CREATE/OK admin", "GENERATE/OK admin", "UPDATE/OK admin", "UPDATE/OK admin", "UPDATE/OK admin", "GENERATE/OK admin"}, f.logActivities(t, api.ID))
	})
}

var errDown = fmt.Errorf("redis down: %w", apperr.ErrStoreUnavailable)

func TestService_revokerFailure(t *testing.T) {
	ctx := context.Background()
	var fail bool
	f := newFixture(t, func(cfg *registry.ServiceConfig) {
		real := cfg.Revoker
		cfg.Revoker = revokerFunc(func(ctx context.Context, c *token.Claims) error {
			if fail {
				return errDown
			}
			return real.Revoke(ctx, c)
		})
	})
	rec, jwt, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresIn: "1d"})
	require.NoError(t, err)
	fail = true

	t.Run("Generate", func(t *testing.T) {
		_, fresh, err := f.svc.Generate(ctx, admin, rec.ID)
		require.ErrorIs(t, err, errDown, "returned unchanged")
		assert.Same(t, errDown, err)
		assert.Empty(t, fresh)
		got, err := f.svc.Get(ctx, admin, rec.ID)
		require.NoError(t, err)
		assert.Equal(t, rec, got, "nothing changed")
		_, err = f.ver.Verify(ctx, jwt)
		assert.NoError(t, err, "the old JWT still works: no new one was handed out")
	})
	t.Run("Delete", func(t *testing.T) {
		err := f.svc.Delete(ctx, admin, rec.ID)
		assert.Same(t, errDown, err, "returned unchanged: the HTTP layer answers 503")
		got, err := f.svc.Get(ctx, admin, rec.ID)
		require.NoError(t, err, "the record stays")
		assert.Equal(t, registry.StatusGeneratedInactive, got.Status)
	})
	assert.Equal(t, []string{"CREATE/OK admin", "GENERATE/OK admin"}, f.logActivities(t, rec.ID), "nothing logged")

	fail = false
	require.NoError(t, f.svc.Delete(ctx, admin, rec.ID), "a retry succeeds")
	_, err = f.ver.Verify(ctx, jwt)
	require.ErrorIs(t, err, token.ErrRevoked)
}

func TestService_Delete(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var denied []*token.Claims
	var err error
	f.svc, err = registry.NewService(registry.ServiceConfig{
		Store: f.store, Issuer: token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: newKeys(t), Now: f.clk.Now}),
		Revoker: revokerFunc(func(_ context.Context, c *token.Claims) error { denied = append(denied, c); return nil }),
		Now:     f.clk.Now,
	})
	require.NoError(t, err)
	t.Run("DeniesUntilExpiry", func(t *testing.T) {
		denied = nil
		rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresIn: "1d"})
		require.NoError(t, err)
		require.NoError(t, f.svc.Delete(ctx, admin, rec.ID))
		require.Len(t, denied, 2)
		assert.Equal(t, rec.ID, denied[0].ID, "the record id (tid of every generation)")
		assert.Equal(t, rec.JTI, denied[1].ID, "the current jti")
		for _, c := range denied {
			assert.Equal(t, *rec.ExpiresAt, c.ExpiresAt.Time.UTC())
		}
	})
	t.Run("NeverExpiringDeniedForever", func(t *testing.T) {
		denied = nil
		rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1"})
		require.NoError(t, err)
		require.NoError(t, f.svc.Delete(ctx, admin, rec.ID))
		require.Len(t, denied, 2)
		assert.Nil(t, denied[0].ExpiresAt)
		assert.Nil(t, denied[1].ExpiresAt)
	})
	t.Run("NotGeneratedDeniesRecordOnly", func(t *testing.T) {
		denied = nil
		rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", Generate: ptr(false)})
		require.NoError(t, err)
		require.NoError(t, f.svc.Delete(ctx, admin, rec.ID))
		require.Len(t, denied, 1)
		assert.Equal(t, rec.ID, denied[0].ID)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		requireAppErr(t, f.svc.Delete(ctx, admin, "ghost"), apperr.CodeNotFound, "")
	})
}

func TestService_expiry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	short, jwt, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresIn: "1d"})
	require.NoError(t, err)
	long, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresIn: "30d"})
	require.NoError(t, err)
	never, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1"})
	require.NoError(t, err)

	f.clk.Advance(24 * time.Hour)
	got, err := f.svc.Get(ctx, admin, short.ID)
	require.NoError(t, err)
	assert.Equal(t, registry.StatusExpired, got.Status, "shown as expired once past expiresAt")
	_, err = f.ver.Verify(ctx, jwt)
	assert.NoError(t, err, "within the verifier's leeway")

	_, _, err = f.svc.Generate(ctx, admin, short.ID)
	requireAppErr(t, err, apperr.CodeConflict, "status")
	_, _, err = f.svc.Update(ctx, admin, short.ID, registry.UpdateInput{Name: ptr("renamed")})
	requireAppErr(t, err, apperr.CodeConflict, "status")

	page, _, err := f.svc.List(ctx, admin, registry.Filter{Status: string(registry.StatusExpired)})
	require.NoError(t, err)
	assert.Equal(t, []string{short.ID}, ids(page))
	page, _, err = f.svc.List(ctx, admin, registry.Filter{Status: string(registry.StatusGeneratedInactive)})
	require.NoError(t, err)
	assert.Equal(t, []string{never.ID, long.ID}, ids(page))

	// Issue 14: an expired record stays readable for the retention.
	n, err := f.svc.Cleanup(ctx, f.clk.Now())
	require.NoError(t, err)
	assert.Zero(t, n)
	n, err = f.svc.Cleanup(ctx, f.clk.Now().Add(registry.LogRetention))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = f.svc.Get(ctx, admin, short.ID)
	requireAppErr(t, err, apperr.CodeNotFound, "")
	n, err = f.svc.Cleanup(ctx, f.clk.Now().Add(registry.LogRetention))
	require.NoError(t, err)
	assert.Zero(t, n)
	n, err = f.svc.Cleanup(ctx, f.clk.Now().Add(100*365*24*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "never-expiring records stay")
	_, err = f.svc.Get(ctx, admin, never.ID)
	require.NoError(t, err)
	_ = long
}

func TestService_Cleanup_many(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for range 1200 {
		_, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresAt: ptr(f.clk.Now().Add(24 * time.Hour)), Generate: ptr(false)})
		require.NoError(t, err)
	}
	n, err := f.svc.Cleanup(ctx, f.clk.Now().Add(48*time.Hour+registry.LogRetention))
	require.NoError(t, err)
	assert.Equal(t, 1200, n, "in batches, to the end")
}

func TestService_List(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var want []string
	for range 7 {
		rec, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", Generate: ptr(false)})
		require.NoError(t, err)
		want = append([]string{rec.ID}, want...)
		f.clk.Advance(time.Second)
	}
	var got []string
	cursor := ""
	for {
		page, next, err := f.svc.List(ctx, admin, registry.Filter{ReportID: "r1", Limit: 3, Cursor: cursor})
		require.NoError(t, err)
		got = append(got, ids(page)...)
		if next == "" {
			break
		}
		cursor = next
	}
	assert.Equal(t, want, got)

	for name, tc := range map[string]struct {
		f     registry.Filter
		field string
	}{
		"ErrLimitTooBig":   {registry.Filter{Limit: registry.MaxLimit + 1}, "limit"},
		"ErrLimitNegative": {registry.Filter{Limit: -1}, "limit"},
		"ErrCursor":        {registry.Filter{Cursor: "garbage"}, "cursor"},
		"ErrType":          {registry.Filter{Type: "embed"}, "type"},
		"ErrStatus":        {registry.Filter{Status: "active"}, "status"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := f.svc.List(ctx, admin, tc.f)
			requireAppErr(t, err, apperr.CodeInvalid, tc.field)
		})
	}
	t.Run("LogsErrCursor", func(t *testing.T) {
		_, _, err := f.svc.Logs(ctx, admin, want[0], 10, "garbage")
		requireAppErr(t, err, apperr.CodeInvalid, "cursor")
		_, _, err = f.svc.Logs(ctx, admin, want[0], 500, "")
		requireAppErr(t, err, apperr.CodeInvalid, "limit")
	})
}

func ids(rs []registry.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestService_Reveal(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	f := newFixture(t, func(cfg *registry.ServiceConfig) { cfg.Sealer = key })
	require.True(t, f.svc.RevealEnabled())
	rec, jwt, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1"})
	require.NoError(t, err)

	stored, err := f.store.GetRecord(ctx, rec.ID)
	require.NoError(t, err)
	require.NotEmpty(t, stored.Sealed)
	assert.NotContains(t, string(stored.Sealed), jwt)
	for _, part := range strings.Split(jwt, ".") {
		assert.NotContains(t, string(stored.Sealed), part, "no segment of the JWT in the clear")
	}
	b, err := json.Marshal(stored)
	require.NoError(t, err)
	assert.NotContains(t, string(b), jwt, "the record's JSON never holds the JWT")
	assert.NotContains(t, string(b), "sealed")
	assert.NotContains(t, string(b), stored.JTI, "nor its jti")

	got, err := f.svc.RevealToken(stored)
	require.NoError(t, err)
	assert.Equal(t, jwt, got, "round trip")

	_, fresh, err := f.svc.Generate(ctx, admin, rec.ID)
	require.NoError(t, err)
	stored2, err := f.store.GetRecord(ctx, rec.ID)
	require.NoError(t, err)
	got, err = f.svc.RevealToken(stored2)
	require.NoError(t, err)
	assert.Equal(t, fresh, got, "the current generation")
	assert.NotEqual(t, stored.Sealed[:12], stored2.Sealed[:12], "a fresh nonce per seal")

	t.Run("ErrOtherRecord", func(t *testing.T) {
		moved := stored2
		moved.ID = "another-record"
		_, err := f.svc.RevealToken(moved)
		require.ErrorIs(t, err, registry.ErrUnseal, "sealed for its record id only")
	})
	t.Run("ErrTampered", func(t *testing.T) {
		bad := stored2.Clone()
		bad.Sealed[len(bad.Sealed)-1] ^= 1
		_, err := f.svc.RevealToken(bad)
		require.ErrorIs(t, err, registry.ErrUnseal)
		bad.Sealed = bad.Sealed[:5]
		_, err = f.svc.RevealToken(bad)
		require.ErrorIs(t, err, registry.ErrUnseal)
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		other := newFixture(t, func(cfg *registry.ServiceConfig) { cfg.Sealer = make([]byte, 16) })
		_, err := other.svc.RevealToken(stored2)
		require.ErrorIs(t, err, registry.ErrUnseal)
	})
	t.Run("NotGenerated", func(t *testing.T) {
		draft, _, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", Generate: ptr(false)})
		require.NoError(t, err)
		got, err := f.svc.RevealToken(draft)
		require.NoError(t, err)
		assert.Empty(t, got)
	})
	t.Run("Off", func(t *testing.T) {
		plain := newFixture(t)
		got, err := plain.svc.RevealToken(stored2)
		require.NoError(t, err)
		assert.Empty(t, got, "reveal off reveals nothing")
	})
}

// TestService_IDThatIsNoRecordIDIsNotCarried: a JWT pasted where a record id
// goes is not found, and its text is in no error (errors are logged), on
// every path that loads a record (a second outside attack run found the
// whole JWT in a debug log line).
func TestService_IDThatIsNoRecordIDIsNotCarried(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, jwt, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1"})
	require.NoError(t, err)
	for _, id := range []string{jwt, strings.Repeat("a", 65), "a b", "../x"} {
		_, err := f.svc.Get(ctx, admin, id)
		requireAppErr(t, err, apperr.CodeNotFound, "")
		require.NotContains(t, err.Error(), id)
		_, _, err = f.svc.Generate(ctx, admin, id)
		require.NotContains(t, err.Error(), id)
		_, _, err = f.svc.Logs(ctx, issuer("c1", "report:r1"), id, 0, "")
		require.NotContains(t, err.Error(), id)
		require.NotContains(t, f.svc.Delete(ctx, admin, id).Error(), id)
	}
}
