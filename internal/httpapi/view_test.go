package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/token"
)

const viewTemplate = "https://viewer.example.com/reports/{reportId}?token={token}"

func withView(tpl string) func(*fixture) {
	return func(f *fixture) {
		prev := f.tweak
		f.tweak = func(c *httpapi.Config) {
			if prev != nil {
				prev(c)
			}
			c.ViewURLTemplate = tpl
		}
	}
}

// untracked mints a token that legitimately appears in a redirect's
// Location (the leak check would flag it otherwise).
func (f *fixture) untracked(c token.Claims, ttl time.Duration) string {
	f.tb.Helper()
	raw, _, err := f.issuer.Mint(c, ttl)
	require.NoError(f.tb, err)
	return raw
}

// requireExpiredPage checks the 401 HTML answer of /view/{token}.
func requireExpiredPage(t *testing.T, rec *httptest.ResponseRecorder, body string, tok string) {
	t.Helper()
	res := rec.Result()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, body)
	require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	require.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
	require.Empty(t, res.Header.Get("Location"))
	require.Contains(t, body, "Session expired — this link has expired or is invalid")
	require.NotContains(t, body, "goroutine")
	if len(tok) > 8 {
		require.NotContains(t, body, tok)
		if i := strings.LastIndexByte(tok, '.'); i > 0 {
			require.NotContains(t, body, tok[i+1:])
		}
	}
}

func TestView(t *testing.T) {
	f := newAPI(t, withView(viewTemplate))
	report := token.Claims{Kind: token.KindReport, ReportID: "q3-sales", TID: "rec1"}

	t.Run("LiveReportTokenRedirects", func(t *testing.T) {
		tok := f.untracked(report, time.Hour)
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			rec := f.do(m, "/view/"+tok, "")
			require.Equal(t, http.StatusFound, rec.Code, rec.Body.String())
			require.Equal(t, "https://viewer.example.com/reports/q3-sales?token="+tok, rec.Header().Get("Location"))
			require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			require.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"))
		}
	})
	t.Run("ReportIDIsEscaped", func(t *testing.T) {
		tok := f.untracked(token.Claims{Kind: token.KindReport, ReportID: "a/../b?c", TID: "rec-abc"}, time.Hour)
		rec := f.do(http.MethodGet, "/view/"+tok, "")
		require.Equal(t, http.StatusFound, rec.Code)
		u, err := url.Parse(rec.Header().Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "viewer.example.com", u.Host)
		require.Equal(t, "/reports/a%2F..%2Fb%3Fc", u.EscapedPath())
		require.Equal(t, tok, u.Query().Get("token"))
	})
	t.Run("Revoked", func(t *testing.T) {
		tok := f.track(f.untracked(report, 0))
		require.Equal(t, http.StatusOK, f.revokeAsAdmin(tok).Code)
		rec := f.do(http.MethodGet, "/view/"+tok, "")
		requireExpiredPage(t, rec, rec.Body.String(), tok)
	})
	t.Run("Expired", func(t *testing.T) {
		tok := f.track(f.untracked(report, time.Minute))
		f.clock.Advance(time.Minute + testLeeway + time.Second)
		rec := f.do(http.MethodGet, "/view/"+tok, "")
		requireExpiredPage(t, rec, rec.Body.String(), tok)
	})
	t.Run("OtherKinds", func(t *testing.T) {
		for _, c := range []token.Claims{
			{Kind: token.KindEmbed, DashboardID: dashID},
			{Kind: token.KindAppView, AppID: "analytics", ReadOnly: true, TID: "rec-app"},
			{Kind: token.KindAPI, RegisteredClaims: jwt.RegisteredClaims{Subject: "alice"}, Scope: "report:read", TID: "rec-api"},
		} {
			tok := f.mintDirect(c, time.Hour)
			rec := f.do(http.MethodGet, "/view/"+tok, "")
			requireExpiredPage(t, rec, rec.Body.String(), tok)
		}
	})
	t.Run("Garbage", func(t *testing.T) {
		forged := f.track(f.forge(f.hdr("HS256", ""), f.payload(map[string]any{"tt": "report", "reportId": "r"}), "HS256", []byte("guessed-secret-guessed-secret-guessed")))
		for _, tok := range []string{"x", "a.b.c", "%3Cscript%3E", strings.Repeat("A", 9000), forged} {
			rec := f.do(http.MethodGet, "/view/"+tok, "")
			requireExpiredPage(t, rec, rec.Body.String(), tok)
			require.NotContains(t, rec.Body.String(), "<script>")
		}
		rec := f.do(http.MethodHead, "/view/x", "")
		require.Equal(t, http.StatusUnauthorized, rec.Code)
		require.Empty(t, rec.Body.String())
	})
}

func TestView_Off(t *testing.T) {
	f := newAPI(t)
	tok := f.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "r", TID: "rec-r"}, time.Hour)
	requireError(t, f.do(http.MethodGet, "/view/"+tok, ""), http.StatusNotFound, "not_found", "")
}
