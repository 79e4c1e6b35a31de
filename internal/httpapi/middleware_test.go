package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/token"
)

// requestObserver records the requests the metrics see.
type requestObserver struct {
	mu     sync.Mutex
	routes []string
}

func (o *requestObserver) Request(route, method string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.routes = append(o.routes, method+" "+route+" "+http.StatusText(status))
}
func (*requestObserver) Verified(string) {}
func (*requestObserver) Minted(string)   {}

// ctxVerifier remembers whether the contexts it is handed have a deadline,
// and panics on the token "boom".
type ctxVerifier struct {
	httpapi.Verifier
	mu       sync.Mutex
	deadline []bool
}

func (v *ctxVerifier) VerifyMemo(ctx context.Context, raw string) (*token.Claims, *token.Memo, error) {
	_, ok := ctx.Deadline()
	v.mu.Lock()
	v.deadline = append(v.deadline, ok)
	v.mu.Unlock()
	if raw == "boom" {
		panic("verifier exploded")
	}
	return v.Verifier.VerifyMemo(ctx, raw)
}

// logLines are the fixture's JSON log lines with msg, from byte from of the log on.
func logLines(t *testing.T, f *fixture, from int, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()[from:]), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// TestMiddleware_VerifyRoute: the middleware chain is composed once at
// start (not per request, as Echo does with e.Use), and every request of
// the forward-auth route still runs all of it: a fresh, unique
// X-Request-Id (or the caller's well-formed one), one access log line and
// one metrics observation with that id and the route template, the body
// limit, the panic recovery, and the store-time bound (skipped only with
// VerifyNeverWaits). Unmatched routes and methods run it too.
func TestMiddleware_VerifyRoute(t *testing.T) {
	for _, neverWaits := range []bool{false, true} {
		name := "StoreTimeout"
		if neverWaits {
			name = "VerifyNeverWaits"
		}
		t.Run(name, func(t *testing.T) {
			obs := &requestObserver{}
			var cv *ctxVerifier
			f := newAPI(t, func(f *fixture) {
				f.tweak = func(c *httpapi.Config) {
					cv = &ctxVerifier{Verifier: c.Verifier}
					c.Verifier, c.Observer, c.VerifyNeverWaits = cv, obs, neverWaits
				}
			})
			tok := f.mint(nil).AccessToken
			from := len(f.logs.String())
			obs.routes = nil

			big := httptest.NewRequest(http.MethodGet, "/api/v1/verify", strings.NewReader(strings.Repeat("x", httpapi.MaxBodyBytes+1)))
			big.Header.Set("Authorization", "Bearer "+tok)
			recs := []*httptest.ResponseRecorder{
				f.verify(tok), f.verify(tok), // a miss, then a cache hit
				f.verify(tok + "x"), // 401
				f.bearer(http.MethodHead, "/api/v1/verify", tok),
				f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+tok, "X-Request-Id", "gw-7.a_b"),
				f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+tok, "X-Request-Id", "bad id"),
				f.bearer(http.MethodPost, "/api/v1/verify", tok), // 405
				f.bearer(http.MethodGet, "/api/v1/verifyx", tok), // 404
				f.serve(big),     // 413
				f.verify("boom"), // a panic in the pipeline
			}
			want := []int{200, 200, 401, 200, 200, 200, 405, 404, 413, 500}
			f.expectServerError(recs[len(recs)-1])
			ids := map[string]bool{}
			for i, rec := range recs {
				require.Equal(t, want[i], rec.Code, "request %d: %s", i, rec.Body.String())
				id := rec.Header().Get("X-Request-Id")
				require.NotEmpty(t, id, "request %d", i)
				require.Len(t, rec.Header().Values("X-Request-Id"), 1)
				require.False(t, ids[id], "request %d: ids are unique", i)
				ids[id] = true
			}
			require.Equal(t, "gw-7.a_b", recs[4].Header().Get("X-Request-Id"), "a well-formed caller id is echoed")
			require.NotEqual(t, "bad id", recs[5].Header().Get("X-Request-Id"))
			requireError(t, recs[8], http.StatusRequestEntityTooLarge, "too_large", "")
			e := requireError(t, recs[9], http.StatusInternalServerError, "internal", "")
			require.Equal(t, "internal error", e.Error.Message)
			require.NotContains(t, recs[9].Body.String(), "exploded")

			// One access line per request, with its id, route template and status.
			lines := logLines(t, f, from, "request")
			require.Len(t, lines, len(recs))
			for i, l := range lines {
				require.Equal(t, recs[i].Header().Get("X-Request-Id"), l["request_id"], "line %d", i)
				require.EqualValues(t, want[i], l["status"], "line %d", i)
				wantRoute := "/api/v1/verify"
				if want[i] == 404 {
					wantRoute = "unmatched"
				}
				require.Equal(t, wantRoute, l["route"], "line %d", i)
			}
			panics := logLines(t, f, from, "panic recovered")
			require.Len(t, panics, 1)
			require.Equal(t, recs[9].Header().Get("X-Request-Id"), panics[0]["request_id"])
			require.Equal(t, "/api/v1/verify", panics[0]["route"])
			require.Len(t, obs.routes, len(recs), "every request is measured")
			require.Equal(t, "GET /api/v1/verify OK", obs.routes[0])
			require.Equal(t, "GET unmatched Not Found", obs.routes[7])

			// The store-time bound: a deadline on every verification unless
			// the verifier answers from memory.
			require.NotEmpty(t, cv.deadline)
			for _, d := range cv.deadline {
				require.Equal(t, !neverWaits, d)
			}
		})
	}
}
