package embed_test

import (
	"context"
	"errors"
	"path"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/token"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakes built from function fields; a nil field is never called.
type fakeMinter struct{}

func (fakeMinter) Mint(c token.Claims, ttl time.Duration) (string, *token.Claims, error) {
	c.IssuedAt = jwt.NewNumericDate(epoch)
	c.ExpiresAt = jwt.NewNumericDate(epoch.Add(ttl))
	return "signed", &c, nil
}

type fakeVerifier struct {
	verify func(raw string) (*token.Claims, error)
}

func (f fakeVerifier) Verify(_ context.Context, raw string) (*token.Claims, error) {
	return f.verify(raw)
}
func (f fakeVerifier) VerifyIgnoringExpiry(_ context.Context, raw string) (*token.Claims, error) {
	return f.verify(raw)
}

type fakeRevoker struct{ cuts *[]revocation.Cutoff }

func (fakeRevoker) Revoke(context.Context, *token.Claims) error             { return nil }
func (fakeRevoker) RevokeOnce(context.Context, *token.Claims) (bool, error) { return true, nil }
func (f fakeRevoker) RevokeAll(_ context.Context, cut revocation.Cutoff) (time.Time, error) {
	*f.cuts = append(*f.cuts, cut)
	return epoch, nil
}

type fakeClients map[string]clients.Client

func (f fakeClients) Authenticate(_ context.Context, id, secret string) (clients.Client, error) {
	if c, ok := f[id]; ok && secret == "s3cret" {
		return c, nil
	}
	return clients.Client{}, clients.ErrBadCredentials
}

func (f fakeClients) Get(_ context.Context, id string) (clients.Client, error) {
	if c, ok := f[id]; ok {
		return c, nil
	}
	return clients.Client{}, clients.ErrNotFound
}

func (f fakeClients) Delete(context.Context, string) error { return nil }

func newService(t *testing.T, v fakeVerifier, cuts *[]revocation.Cutoff, now time.Time) *embed.Service {
	t.Helper()
	svc, err := embed.New(embed.Config{
		Minter: fakeMinter{}, Verifier: v, Revoker: fakeRevoker{cuts: cuts},
		Clients: fakeClients{"sales": {ID: "sales", Resources: []string{"dashboard:sales"}, MaxTokenExpiry: 600}},
		Now:     func() time.Time { return now },
	})
	require.NoError(t, err)
	return svc
}

func allows(patterns ...string) func(string) bool {
	return func(res string) bool {
		for _, p := range patterns {
			if ok, _ := path.Match(p, res); ok {
				return true
			}
		}
		return false
	}
}

func TestClaims(t *testing.T) {
	c := embed.Claims(embed.Grant{ClientID: "sales", DashboardID: "d1", Subject: "u", Params: map[string]any{"a": "b"}})
	require.Equal(t, token.KindEmbed, c.Kind)
	require.Equal(t, embed.Scope, c.Scope)
	require.Equal(t, "sales", c.ClientID)
	require.Equal(t, "d1", c.DashboardID)
	require.Equal(t, "u", c.Subject)
	require.Equal(t, "dashboard:d1", c.Resource())
}

func TestService_Mint(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  embed.MintRequest
		code string
		ttl  time.Duration
	}{
		{"OK/DefaultCappedByClient", embed.MintRequest{DashboardID: "sales", DashboardSecret: "s3cret"}, "", 600 * time.Second},
		{"OK/Asked", embed.MintRequest{DashboardID: "sales", DashboardSecret: "s3cret", Expiry: time.Minute}, "", time.Minute},
		{"ErrOverClientCap", embed.MintRequest{DashboardID: "sales", DashboardSecret: "s3cret", Expiry: time.Hour}, apperr.CodeInvalid, 0},
		{"ErrBadCredentials", embed.MintRequest{DashboardID: "sales", DashboardSecret: "guess"}, apperr.CodeUnauthorized, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newService(t, fakeVerifier{}, nil, epoch).Mint(context.Background(), tc.req)
			if tc.code != "" {
				e, ok := apperr.As(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, tc.code, e.Code)
				if tc.code == apperr.CodeUnauthorized {
					require.ErrorIs(t, err, clients.ErrBadCredentials)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, epoch.Add(tc.ttl), got.Claims.ExpiresAt.Time)
			require.Equal(t, "sales", got.Claims.ClientID)
		})
	}
}

// TestService_Refresh_ErrTooNew: a token younger than the minimum age is
// refused with how long to wait.
func TestService_Refresh_ErrTooNew(t *testing.T) {
	c := embed.Claims(embed.Grant{ClientID: "sales", DashboardID: "sales"})
	c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(epoch), jwt.NewNumericDate(epoch.Add(time.Hour))
	v := fakeVerifier{verify: func(string) (*token.Claims, error) { cc := c; return &cc, nil }}
	_, err := newService(t, v, nil, epoch.Add(20*time.Second)).Refresh(context.Background(), "raw")
	e, ok := apperr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, apperr.CodeRateLimited, e.Code)
	require.Equal(t, 40*time.Second, e.RetryAfter)
}

func TestService_RevokeAll(t *testing.T) {
	admin := embed.Caller{ID: "admin", Admin: true}
	issuer := embed.Caller{ID: "informer", Allows: allows("report:q*", "dashboard:sales")}
	for _, tc := range []struct {
		name    string
		caller  embed.Caller
		req     embed.CutoffRequest
		cut     revocation.Cutoff
		dim, id string
		code    string
	}{
		{"OK/AdminSubject", admin, embed.CutoffRequest{Subject: "alice"}, revocation.Cutoff{Dim: revocation.DimSubject, ID: "alice"}, revocation.DimSubject, "alice", ""},
		{"OK/IssuerSubject", issuer, embed.CutoffRequest{Subject: "alice"}, revocation.ClientSubject("informer", "alice"), revocation.DimClientSubject, "alice", ""},
		{"OK/IssuerReport", issuer, embed.CutoffRequest{ReportID: "q3"}, revocation.ClientResource("informer", revocation.Cutoff{Dim: revocation.DimReport, ID: "q3"}), revocation.DimReport, "q3", ""},
		{"OK/IssuerDashboardWhole", issuer, embed.CutoffRequest{DashboardID: "sales"}, revocation.Cutoff{Dim: revocation.DimDashboard, ID: "sales"}, revocation.DimDashboard, "sales", ""},
		{"OK/AdminReportWhole", admin, embed.CutoffRequest{ReportID: "q3"}, revocation.Cutoff{Dim: revocation.DimReport, ID: "q3"}, revocation.DimReport, "q3", ""},
		{"OK/OwnClient", issuer, embed.CutoffRequest{ClientID: "informer"}, revocation.Cutoff{Dim: revocation.DimClient, ID: "informer"}, revocation.DimClient, "informer", ""},
		{"ErrOtherClient", issuer, embed.CutoffRequest{ClientID: "rival"}, revocation.Cutoff{}, "", "", apperr.CodeInvalid},
		{"ErrForeignResource", issuer, embed.CutoffRequest{AppID: "other"}, revocation.Cutoff{}, "", "", apperr.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cuts []revocation.Cutoff
			res, err := newService(t, fakeVerifier{}, &cuts, epoch).RevokeAll(context.Background(), tc.caller, tc.req)
			if tc.code != "" {
				e, ok := apperr.As(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, tc.code, e.Code)
				require.Empty(t, cuts, "nothing written")
				return
			}
			require.NoError(t, err)
			require.Equal(t, []revocation.Cutoff{tc.cut}, cuts)
			require.Equal(t, embed.CutoffResult{Dimension: tc.dim, ID: tc.id, RevokedBefore: epoch}, res)
		})
	}
}

// TestService_Introspect: rejected and out-of-scope tokens are inactive;
// store failures are errors.
func TestService_Introspect(t *testing.T) {
	c := embed.Claims(embed.Grant{ClientID: "sales", DashboardID: "sales"})
	store := errors.New("store down")
	for _, tc := range []struct {
		name     string
		caller   embed.Caller
		verr     error
		active   bool
		rejected bool
		err      error
	}{
		{"OK/Visible", embed.Caller{ID: "x", Allows: allows("dashboard:*")}, nil, true, false, nil},
		{"OK/AdminSeesAll", embed.Caller{ID: "admin", Admin: true}, nil, true, false, nil},
		{"OK/OutOfScopeInactive", embed.Caller{ID: "x", Allows: allows("report:*")}, nil, false, false, nil},
		{"OK/RejectedInactive", embed.Caller{ID: "x", Allows: allows("dashboard:*")}, token.ErrRevoked, false, true, nil},
		{"ErrStore", embed.Caller{ID: "x", Allows: allows("dashboard:*")}, store, false, false, store},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := fakeVerifier{verify: func(string) (*token.Claims, error) {
				if tc.verr != nil {
					return nil, tc.verr
				}
				cc := c
				return &cc, nil
			}}
			in, err := newService(t, v, nil, epoch).Introspect(context.Background(), tc.caller, "raw")
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, tc.active, in.Active)
			require.Equal(t, tc.rejected, in.Rejected != nil)
			require.Equal(t, tc.active, in.Claims != nil)
		})
	}
}

// TestService_View: only a genuine, live report token opens the viewer.
func TestService_View(t *testing.T) {
	report := token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "rec1"}
	store := errors.New("store down")
	for _, tc := range []struct {
		name   string
		claims token.Claims
		verr   error
		err    error
	}{
		{"OK", report, nil, nil},
		{"ErrEmbed", embed.Claims(embed.Grant{ClientID: "sales", DashboardID: "sales"}), nil, embed.ErrNotViewable},
		{"ErrAppView", token.Claims{Kind: token.KindAppView, AppID: "a", TID: "rec2"}, nil, embed.ErrNotViewable},
		{"ErrAPI", token.Claims{Kind: token.KindAPI, TID: "rec3"}, nil, embed.ErrNotViewable},
		{"ErrRevoked", report, token.ErrRevoked, token.ErrRevoked},
		{"ErrStore", report, store, store},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := fakeVerifier{verify: func(raw string) (*token.Claims, error) {
				require.Equal(t, "raw", raw)
				if tc.verr != nil {
					return nil, tc.verr
				}
				cc := tc.claims
				return &cc, nil
			}}
			got, err := newService(t, v, nil, epoch).View(context.Background(), "raw")
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Nil(t, got)
				if tc.err == embed.ErrNotViewable {
					require.NotErrorIs(t, err, token.ErrInvalidToken, "a genuine token is refused, not rejected")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, &report, got)
		})
	}
}

// TestService_Introspect_RejectedInScope: a genuine token rejected as
// expired counts as a failed use of its record only for a caller that may
// see it; a forged one never does. It runs the real pipeline, whose
// rejections carry the genuine token's claims.
func TestService_Introspect_RejectedInScope(t *testing.T) {
	now := epoch
	clock := func() time.Time { return now }
	signer, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	_, k, err := keys.WritePEM(t.TempDir(), signer)
	require.NoError(t, err)
	ring, err := keys.NewRing(func() (*keys.Set, error) { return keys.NewSet([]*keys.Key{k}, "") })
	require.NoError(t, err)
	iss := token.NewIssuer(token.IssuerConfig{Issuer: "https://sigil.test", Audience: "sigil", Keys: ring, Now: clock})
	ver := token.NewVerifier(token.VerifierConfig{Issuer: "https://sigil.test", Audience: "sigil", Keys: ring, Leeway: -1, Now: clock})
	svc, err := embed.New(embed.Config{Minter: iss, Verifier: ver, Revoker: fakeRevoker{}, Clients: fakeClients{}, Now: clock})
	require.NoError(t, err)

	raw, _, err := iss.Mint(token.Claims{Kind: token.KindReport, ReportID: "q3", ClientID: "informer", TID: "rec1"}, time.Minute)
	require.NoError(t, err)
	informer := embed.Caller{ID: "informer", Allows: allows("report:q3")}
	rival := embed.Caller{ID: "rival", Allows: allows("report:other")}
	admin := embed.Caller{ID: "admin", Admin: true}

	in, err := svc.Introspect(context.Background(), informer, raw)
	require.NoError(t, err)
	require.True(t, in.Active)
	require.False(t, in.RejectedInScope)

	now = now.Add(2 * time.Minute)
	for _, tc := range []struct {
		name    string
		caller  embed.Caller
		inScope bool
	}{
		{"OK/Informer", informer, true},
		{"OK/Admin", admin, true},
		{"OK/RivalLeavesNoTrace", rival, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := svc.Introspect(context.Background(), tc.caller, raw)
			require.NoError(t, err)
			require.False(t, in.Active)
			require.ErrorIs(t, in.Rejected, token.ErrExpired)
			require.Equal(t, tc.inScope, in.RejectedInScope)
		})
	}
	t.Run("OK/ForgedNeverInScope", func(t *testing.T) {
		in, err := svc.Introspect(context.Background(), admin, raw[:len(raw)-4]+"AAAA")
		require.NoError(t, err)
		require.Error(t, in.Rejected)
		require.False(t, in.RejectedInScope)
	})
}
