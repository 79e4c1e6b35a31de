package httpapi_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/test/apiserver"
	"github.com/sigil-dev/sigil/test/testproc"
)

// TestAttack4_AuthLimitAndLogs: the failed-authentication limit still
// holds on the paths issue 17 changed (introspection behind withClient,
// mint's decodeMint, Blocked's early return while nothing is blocked):
// once the pair (address, sales) has failed MaxFailures times, sales's
// right secret is refused with 429 at introspection and at mint alike,
// while another client from the same address, never failed, still gets
// in. Afterwards the server's debug log holds none of the secrets (right
// or wrong) nor any token text sent or minted during the attack.
func TestAttack4_AuthLimitAndLogs(t *testing.T) {
	logs := &testproc.Buffer{} // safe for the server's goroutines
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const maxFailures = 3
	e := newConsoleEnv(t,
		apiserver.WithConfig(func(c *config.Config) { c.Auth.MaxFailures = maxFailures; c.Log.Level = "debug" }),
		apiserver.WithApp(app.WithLogger(logger)))
	sales := e.newClient("sales", "dashboard:sales")
	hr := e.newClient("hr", "dashboard:hr")
	salesTok := e.mintEmbed("sales", sales)
	hrTok := e.mintEmbed("hr", hr)

	// Nothing blocked yet: the right secret works.
	requireActive(t, e.introspectAs(salesTok, withBasic("sales", sales)), true)
	wrong := []string{sales[:len(sales)-1] + string(sales[len(sales)-1]^1), sales + "x", strings.ToUpper(sales)}
	for i := range maxFailures {
		a := e.introspectAs(salesTok, withBasic("sales", wrong[i%len(wrong)]))
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, a.status, a.body)
	}
	a := e.introspectAs(salesTok, withBasic("sales", sales))
	require.Equal(t, http.StatusTooManyRequests, a.status, "the blocked pair's right secret: %s", a.body)
	require.NotEmpty(t, a.header.Get("Retry-After"))
	m := e.send(http.MethodPost, "/api/v1/token", `{"dashboardId":"sales","dashboardSecret":"`+sales+`"}`, nil)
	require.Equal(t, http.StatusTooManyRequests, m.status, "mint for the blocked pair: %s", m.body)
	require.NotContains(t, m.body, "accessToken")
	// Another id from the same address was never failed: not blocked.
	requireActive(t, e.introspectAs(hrTok, withBasic("hr", hr)), true)
	hrTok2 := e.mintEmbed("hr", hr)

	out := logs.String()
	require.NotEmpty(t, out, "the debug log was written to")
	for _, s := range append([]string{sales, hr, e.srv.AdminSecret, salesTok, hrTok, hrTok2}, wrong...) {
		require.NotContains(t, out, s)
	}
	// Nor a token's signature or payload segment on its own.
	for _, tok := range []string{salesTok, hrTok, hrTok2} {
		parts := strings.Split(tok, ".")
		require.NotContains(t, out, parts[2])
		require.NotContains(t, out, parts[1])
	}
}
