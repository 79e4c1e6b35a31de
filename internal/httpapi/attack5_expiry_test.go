package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
)

// TestAttack5_CachedAnswerFollowsClockAndLogout: a token whose verify
// answer is cached (its slot and its answers object) is answered by the
// injected clock on every request: accepted up to exp+leeway, refused
// (401, no identity) past it, accepted again when the clock steps back,
// and refused for good once it is logged out (invalidate-token) while a
// twin minted in the same second stays accepted.
func TestAttack5_CachedAnswerFollowsClockAndLogout(t *testing.T) {
	f := newAPI(t)
	tok := f.mint(map[string]any{"sub": "a5-clock", "tokenExpiry": 60})
	twin := f.mint(map[string]any{"sub": "a5-clock", "tokenExpiry": 60}).AccessToken
	start := f.clock.Now()
	exp := tok.ExpiresAt
	ok := func(step string) {
		t.Helper()
		for range 2 {
			rec := f.verify(tok.AccessToken)
			require.Equal(t, http.StatusOK, rec.Code, "%s: %s", step, rec.Body.String())
			require.Equal(t, "a5-clock", rec.Header().Get(httpapi.HeaderSubject), step)
		}
	}
	refused := func(step, word string) {
		t.Helper()
		for range 2 {
			rec := f.verify(tok.AccessToken)
			e := requireError(t, rec, http.StatusUnauthorized, "invalid_token", "")
			require.Contains(t, e.Error.Message, word, step)
			require.Empty(t, rec.Header().Get(httpapi.HeaderSubject), step)
		}
	}
	ok("start")
	f.clock.Set(exp.Add(-time.Second))
	ok("a second before exp")
	f.clock.Set(exp.Add(testLeeway - time.Second))
	ok("inside the leeway")
	f.clock.Set(exp.Add(testLeeway + time.Second))
	refused("past exp+leeway", "expired")
	f.clock.Set(start.Add(time.Second))
	ok("clock back")
	rec := f.bearer(http.MethodPost, "/api/v1/invalidate-token", tok.AccessToken)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	refused("logged out", "revoked")
	require.Equal(t, http.StatusOK, f.verify(twin).Code, "the twin is another token")
	f.clock.Set(exp.Add(testLeeway + time.Second))
	rec = f.verify(tok.AccessToken)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
}
